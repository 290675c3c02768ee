import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { testServices, type Call } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { TasksHistoryPage } from './TasksHistoryPage';

const ID_A = '44f70c91-d951-490f-849b-96c363ab67a9';
const ID_B = '10ae897b-07c6-4ce9-aca0-b6d79f2ee289';

function gateway() {
  const tasks = [
    { task_id: ID_A, task_type: 'pdfxtract', state: 'DLQ', created_at: '2025-07-21T16:22:26Z', content_length: 10, has_result: false },
    { task_id: ID_B, task_type: 'summarize', state: 'ACTIVE', created_at: '2025-07-21T16:17:09Z', content_length: 10, has_result: false },
  ];
  return testServices({
    'GET /api/v1/tasks/summaries/': (call: Call) => {
      const prefix = call.query.get('task_id') ?? '';
      const found = tasks.filter((t) => t.task_id.startsWith(prefix));
      return { tasks: found, page: 1, page_size: 10, total_items: found.length + 20, total_pages: 3 };
    },
    [`GET /api/v1/tasks/${ID_A}`]: () => ({
      ...tasks[0],
      content: 'x'.repeat(2000),
      result: null,
      retry_count: 3,
      max_retries: 3,
      last_error: 'HTTP 400 from provider',
      error_type: 'PermanentError',
      error_history: [{ timestamp: '2025-07-21T16:22:30Z', error: 'HTTP 400 from provider', error_type: 'PermanentError', retry_count: 0, state_transition: 'ACTIVE -> DLQ' }],
      state_history: [
        { state: 'PENDING', timestamp: '2025-07-21T16:22:26Z' },
        { state: 'ACTIVE', timestamp: '2025-07-21T16:22:27Z' },
        { state: 'DLQ', timestamp: '2025-07-21T16:22:30Z' },
      ],
      metadata: { filename: 'paper.pdf', issue_date: '2023-12-31' },
      worker_id: 'w-1',
    }),
    [`POST /api/v1/tasks/${ID_A}/retry`]: () => ({ task_id: ID_A, state: 'PENDING' }),
    [`DELETE /api/v1/tasks/${ID_B}`]: () => ({ task_id: ID_B, message: 'Task deleted' }),
  });
}

describe('TasksHistoryPage', () => {
  it('lists one page of summaries with filters sent to the gateway', async () => {
    const user = userEvent.setup();
    const { services, calls } = gateway();
    renderWith(services, <TasksHistoryPage />);
    expect(await screen.findByText(ID_A)).toBeInTheDocument();
    expect(screen.getByText('Showing tasks 1-2 of 22')).toBeInTheDocument();
    const listing = calls.filter((c) => c.path === '/api/v1/tasks/summaries/');
    expect(listing[0]?.query.get('page_size')).toBe('10');
    expect(listing[0]?.query.get('sort_by')).toBe('created_at');

    await user.selectOptions(screen.getByLabelText('Status'), 'DLQ');
    await waitFor(() => expect(calls.filter((c) => c.path === '/api/v1/tasks/summaries/').at(-1)?.query.get('status')).toBe('DLQ'));
    await user.type(screen.getByLabelText('Search by task ID'), '10ae');
    await waitFor(() => expect(calls.filter((c) => c.path === '/api/v1/tasks/summaries/').at(-1)?.query.get('task_id')).toBe('10ae'));
    expect(await screen.findByText('Showing tasks 1-1 of 21')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Next' }));
    await waitFor(() => expect(calls.filter((c) => c.path === '/api/v1/tasks/summaries/').at(-1)?.query.get('page')).toBe('2'));
  });

  it('filters by CANCELLED and shows the state with its own badge', async () => {
    const user = userEvent.setup();
    const cancelled = { task_id: ID_B, task_type: 'summarize', state: 'TASK_STATE_CANCELLED', created_at: '2025-07-21T16:17:09Z' };
    const { services, calls } = testServices({
      'GET /api/v1/tasks/summaries/': (call: Call) => {
        const found = call.query.get('status') === 'CANCELLED' ? [cancelled] : [];
        return { tasks: found, page: 1, page_size: 10, total_items: found.length, total_pages: 1 };
      },
    });
    renderWith(services, <TasksHistoryPage />);
    await user.selectOptions(await screen.findByLabelText('Status'), 'CANCELLED');
    const row = (await screen.findByText(ID_B)).closest('tr') as HTMLElement;
    expect(within(row).getByText('CANCELLED')).toHaveClass('bg-slate-600');
    expect(calls.filter((c) => c.path === '/api/v1/tasks/summaries/').at(-1)?.query.get('status')).toBe('CANCELLED');
  });

  it('shows every detail of a task and retries it from the DLQ', async () => {
    const user = userEvent.setup();
    const { services, calls } = gateway();
    renderWith(services, <TasksHistoryPage />);
    const row = (await screen.findByText(ID_A)).closest('tr') as HTMLElement;
    await user.click(within(row).getByRole('button', { name: /View Details/ }));
    const details = await screen.findByTestId('task-details');
    expect(within(details).getByText('3 / 3')).toBeInTheDocument();
    expect(within(details).getByText('paper.pdf')).toBeInTheDocument();
    expect(within(details).getByRole('list', { name: 'State history' }).children).toHaveLength(3);
    expect(within(details).getByRole('list', { name: 'Error history' })).toHaveTextContent('ACTIVE -> DLQ');
    expect(within(details).getByRole('button', { name: /Show all \(2,000 characters\)/ })).toBeInTheDocument();
    await user.click(within(details).getByRole('button', { name: 'Retry' }));
    expect(await within(details).findByText('Requeued (PENDING)')).toBeInTheDocument();
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/retry'))).toBe(true);
  });

  it('deletes a task after confirmation', async () => {
    const user = userEvent.setup();
    const { services, calls } = gateway();
    renderWith(services, <TasksHistoryPage />);
    await screen.findByText(ID_B);
    await user.click(screen.getByRole('button', { name: `Delete task ${ID_B}` }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.queryByText(ID_B)).not.toBeInTheDocument());
    expect(calls.some((c) => c.method === 'DELETE')).toBe(true);
  });

  it('updates rows live and counts new tasks without reshuffling the page', async () => {
    const { services, store } = gateway();
    renderWith(services, <TasksHistoryPage />);
    const row = (await screen.findByText(ID_B)).closest('tr') as HTMLElement;
    expect(within(row).getByText('ACTIVE')).toBeInTheDocument();
    act(() => {
      store.push({ type: 'task_state_changed', taskId: ID_B, oldState: 'ACTIVE', newState: 'COMPLETED', queues: null, states: null });
      store.push({ type: 'task_created', taskId: 'new-1', taskType: 'summarize', queues: null, states: null });
      store.flush();
    });
    expect(within(row).getByText('COMPLETED')).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('1 new task since this page was loaded.');
    act(() => {
      store.push({ type: 'task_deleted', taskId: ID_A, oldState: 'DLQ', queues: null, states: null });
      store.flush();
    });
    expect(within(screen.getByText(ID_A).closest('tr') as HTMLElement).getByText('deleted')).toBeInTheDocument();
  });

  it('shows the gateway error', async () => {
    const { services } = testServices({});
    renderWith(services, <TasksHistoryPage />);
    expect(await screen.findByRole('alert')).toHaveTextContent('no route GET /api/v1/tasks/summaries/');
  });
});
