import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { TasksCleanupPage } from './TasksCleanupPage';

function setup() {
  return testServices({
    // The gateway's own messages repeat the counts: the page says each count once.
    'POST /api/v1/tasks/cleanup': () => ({ deleted: 12, message: 'Deleted 12 tasks' }),
    'POST /api/v1/queues/dlq/retry-all': () => ({ retried: 3, message: 'Retried 3 DLQ tasks' }),
    'DELETE /api/v1/queues/dlq': () => ({ purged: 1, message: 'Deleted 1 DLQ tasks' }),
    'POST /api/v1/tasks/cancel': () => ({ cancelled: 4, cancel_requested: 0, message: 'Cancelled 4 tasks' }),
    'POST /api/v1/tasks/requeue-orphaned': () => ({
      found: 2,
      requeued: 2,
      errors: [],
      message: 'Found 2 orphaned tasks, requeued 2',
    }),
  });
}

async function confirm(user: ReturnType<typeof userEvent.setup>, button: string, confirmLabel: string): Promise<void> {
  await user.click(screen.getByRole('button', { name: button }));
  await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: confirmLabel }));
}

describe('TasksCleanupPage', () => {
  it('deletes by state and age and reports the count', async () => {
    const user = userEvent.setup();
    const { services, calls } = setup();
    renderWith(services, <TasksCleanupPage />);
    await user.click(screen.getByRole('checkbox', { name: /DLQ/ }));
    await user.type(screen.getByLabelText('Older than (empty = any age)'), '2');
    await user.selectOptions(screen.getByLabelText('Unit'), 'hours');
    await user.click(screen.getByRole('button', { name: 'Delete tasks' }));
    expect(screen.getByRole('dialog')).toHaveTextContent('Every task in state COMPLETED, DLQ older than 2 hours will be deleted for good.');
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
    expect((await screen.findByRole('status')).textContent).toBe('Deleted 12 tasks.');
    expect(calls[0]?.body).toEqual({ states: ['COMPLETED', 'DLQ'], older_than_seconds: 7200 });
  });

  it('retries, purges and requeues with confirmation', async () => {
    const user = userEvent.setup();
    const { services } = setup();
    renderWith(services, <TasksCleanupPage />);
    await confirm(user, 'Retry all DLQ tasks', 'Retry all');
    expect(await screen.findByRole('status')).toHaveTextContent(/^Retried 3 tasks\.$/);
    await confirm(user, 'Purge DLQ', 'Purge');
    expect(await screen.findByText('Purged 1 task.')).toBeInTheDocument();
    await confirm(user, 'Requeue orphaned tasks', 'Requeue');
    expect(await screen.findByText('Found 2 orphaned tasks, requeued 2.')).toBeInTheDocument();
  });

  it('cancels every PENDING and SCHEDULED task with confirmation', async () => {
    const user = userEvent.setup();
    const { services, calls } = setup();
    renderWith(services, <TasksCleanupPage />);
    await user.click(screen.getByRole('button', { name: 'Cancel waiting tasks' }));
    expect(screen.getByRole('dialog')).toHaveTextContent('Every PENDING and SCHEDULED task is cancelled');
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Cancel them' }));
    expect(await screen.findByText('Cancelled 4 tasks.')).toBeInTheDocument();
    const call = calls.find((c) => c.path === '/api/v1/tasks/cancel');
    expect(call?.body).toEqual({ states: ['TASK_STATE_PENDING', 'TASK_STATE_SCHEDULED'] });
  });

  it('cannot delete without a state', async () => {
    const user = userEvent.setup();
    renderWith(setup().services, <TasksCleanupPage />);
    await user.click(screen.getByRole('checkbox', { name: /COMPLETED/ }));
    expect(screen.getByRole('button', { name: 'Delete tasks' })).toBeDisabled();
  });
});
