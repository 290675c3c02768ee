import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { asEventSource, FakeEventSource } from '../test/fakeEventSource';
import { json, testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { TaskDetails } from './TaskDetails';

afterEach(() => vi.unstubAllGlobals());

const ID = '5b0c7a36-3f1e-4b8e-9c52-0d7f1e2a9b11';

function task(state: string, extra: Record<string, unknown> = {}) {
  return { task_id: ID, task_type: 'summarize', state, created_at: '2025-07-21T16:17:09Z', content: 'x', ...extra };
}

describe('TaskDetails cancel', () => {
  it.each(['PENDING', 'SCHEDULED', 'ACTIVE'])('cancels a %s task after confirmation and shows the answer', async (state) => {
    let current = task(state);
    const { services, calls } = testServices({
      [`GET /api/v1/tasks/${ID}`]: () => current,
      [`POST /api/v1/tasks/${ID}/cancel`]: () => {
        current = task('CANCELLED', { cancelled_at: '2025-07-21T16:18:00Z' });
        return { task_id: ID, state: 'TASK_STATE_CANCELLED', message: 'Task cancelled' };
      },
    });
    const user = userEvent.setup();
    renderWith(services, <TaskDetails taskId={ID} />);

    await user.click(await screen.findByRole('button', { name: 'Cancel task' }));
    const dialog = screen.getByRole('dialog');
    expect(dialog).toHaveTextContent('Cancel this task?');
    expect(calls.some((c) => c.path.endsWith('/cancel'))).toBe(false);
    await user.click(within(dialog).getByRole('button', { name: 'Cancel task' }));

    expect(await screen.findByRole('status')).toHaveTextContent('CANCELLED: Task cancelled');
    const cancel = calls.find((c) => c.method === 'POST' && c.path === `/api/v1/tasks/${ID}/cancel`);
    expect(cancel?.body).toEqual({});
    await waitFor(() => expect(screen.getByTestId('task-details')).toHaveTextContent('Cancelled:'));
    expect(screen.queryByRole('button', { name: 'Cancel task' })).not.toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('CANCELLED: Task cancelled');
  });

  it('does not cancel when the confirmation is dismissed', async () => {
    const { services, calls } = testServices({ [`GET /api/v1/tasks/${ID}`]: () => task('PENDING') });
    const user = userEvent.setup();
    renderWith(services, <TaskDetails taskId={ID} />);
    await user.click(await screen.findByRole('button', { name: 'Cancel task' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(calls.some((c) => c.path.endsWith('/cancel'))).toBe(false);
  });

  it('shows the conflict when the task finished meanwhile', async () => {
    const { services } = testServices({
      [`GET /api/v1/tasks/${ID}`]: () => task('ACTIVE'),
      [`POST /api/v1/tasks/${ID}/cancel`]: () => json(409, { detail: 'Task is already COMPLETED' }),
    });
    const user = userEvent.setup();
    renderWith(services, <TaskDetails taskId={ID} />);
    await user.click(await screen.findByRole('button', { name: 'Cancel task' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel task' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('already COMPLETED');
  });

  it.each(['COMPLETED', 'FAILED', 'DLQ', 'CANCELLED'])('offers no cancel for a %s task', async (state) => {
    const { services } = testServices({ [`GET /api/v1/tasks/${ID}`]: () => task(state) });
    renderWith(services, <TaskDetails taskId={ID} />);
    expect(await screen.findByRole('button', { name: 'Delete' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Cancel task' })).not.toBeInTheDocument();
  });
});

describe('TaskDetails progress', () => {
  it('shows the reported fraction, the message and how long the task has run', async () => {
    const startedAt = new Date(Date.now() - 95_000).toISOString();
    const { services } = testServices({
      [`GET /api/v1/tasks/${ID}`]: () =>
        task('ACTIVE', { started_at: startedAt, progress: 0.42, progress_message: 'page 5 of 12', progress_at: startedAt }),
    });
    renderWith(services, <TaskDetails taskId={ID} />);
    const bar = await screen.findByRole('progressbar', { name: 'Task progress' });
    expect(bar).toHaveAttribute('aria-valuenow', '42');
    const panel = screen.getByTestId('task-progress');
    expect(panel).toHaveTextContent('42% — page 5 of 12');
    expect(panel).toHaveTextContent(/Running for 1m 3[5-9]s/);
    expect(screen.queryByText(/progress_message/)).not.toBeInTheDocument();
  });

  it('follows an ACTIVE task so its progress moves without a reload, and stops once it ends', async () => {
    FakeEventSource.reset();
    vi.stubGlobal('EventSource', asEventSource);
    const { services } = testServices({ [`GET /api/v1/tasks/${ID}`]: () => task('ACTIVE', { progress: 0.1 }) });
    renderWith(services, <TaskDetails taskId={ID} />);
    await waitFor(() => expect(screen.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '10'));
    // The follower opens its stream in an effect after that render: wait for it too.
    const source = await waitFor(() => FakeEventSource.last());
    expect(source.url).toBe(`/api/v1/tasks/${ID}/events`);
    act(() => source.send({ type: 'task', task: task('ACTIVE', { progress: 0.75, progress_message: 'page 9 of 12' }) }, 'task'));
    expect(screen.getByRole('progressbar')).toHaveAttribute('aria-valuenow', '75');
    expect(screen.getByTestId('task-progress')).toHaveTextContent('page 9 of 12');
    act(() => source.send({ type: 'task', task: task('CANCELLED') }, 'task'));
    expect(screen.queryByRole('progressbar')).not.toBeInTheDocument();
    expect(source.closed).toBe(true);
  });

  it('shows an ACTIVE task that has not reported yet without a number', async () => {
    const { services } = testServices({ [`GET /api/v1/tasks/${ID}`]: () => task('ACTIVE', { started_at: new Date().toISOString() }) });
    renderWith(services, <TaskDetails taskId={ID} />);
    const bar = await screen.findByRole('progressbar');
    expect(bar).not.toHaveAttribute('aria-valuenow');
    expect(screen.getByTestId('task-progress')).toHaveTextContent('No progress reported yet');
  });

  it('shows no progress bar once the task finished', async () => {
    const { services } = testServices({
      [`GET /api/v1/tasks/${ID}`]: () => task('COMPLETED', { progress: 1, progress_message: 'done' }),
    });
    renderWith(services, <TaskDetails taskId={ID} />);
    await screen.findByRole('button', { name: 'Delete' });
    expect(screen.queryByRole('progressbar')).not.toBeInTheDocument();
  });
});
