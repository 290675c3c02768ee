import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { App, parseRoute } from './App';
import { QueueStream } from './live/queueStream';
import { asEventSource, FakeEventSource } from './test/fakeEventSource';
import { json, testServices } from './test/fakeGateway';

const status = {
  queues: { primary: 3, retry: 1, scheduled: 2, dlq: 4 },
  states: { PENDING: 4, ACTIVE: 2, COMPLETED: 30, FAILED: 0, SCHEDULED: 2, DLQ: 4 },
  retry_ratio: 0.3,
};

const workers = {
  overall_status: 'healthy',
  total_workers: 1,
  healthy_workers: 1,
  stale_workers: 0,
  circuit_breaker_states: { openrouter: 'closed' },
  worker_details: [
    { worker_id: 'exec-1/w0', status: 'healthy', circuit_breaker_state: 'closed', success_count: 12, failure_count: 3, active_task_ids: ['t'], last_seen: '2025-07-21T08:05:02Z' },
  ],
  timestamp: '2025-07-21T08:05:02Z',
};

function gateway(requireToken: string | null = null) {
  const guard = (body: unknown) => (call: { headers: Record<string, string> }) =>
    requireToken && call.headers.Authorization !== `Bearer ${requireToken}` ? json(401, { detail: 'Not authenticated' }) : body;
  return testServices({
    'GET /api/v1/queues/status': guard(status),
    'GET /api/v1/workers/': guard(workers),
    'POST /api/v1/workers/reset-circuit-breaker': guard({ message: 'Circuit breakers reset', successful_resets: 1, results: [] }),
    'GET /api/v1/openrouter/status': guard({ status: 'api_key_missing', message: 'No API key; local fallbacks in use', consecutive_failures: 0 }),
    'GET /api/v1/openrouter/metrics': guard({ days: [{ date: '2025-07-21', total_calls: 5, successes: 4, failures: 1, rate_limit_hits: 0 }] }),
  });
}

function renderApp(env: ReturnType<typeof gateway>) {
  const stream = new QueueStream({ client: env.client, store: env.store, EventSourceImpl: asEventSource });
  return render(<App services={env.services} stream={stream} />);
}

describe('App', () => {
  beforeEach(() => FakeEventSource.reset());

  it('shows the header, the tabs and a live dashboard', async () => {
    const env = gateway();
    renderApp(env);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('AsyncTaskFlow — Real-time Task Processing Dashboard');
    expect(screen.getByRole('link', { name: 'Dashboard' })).toHaveAttribute('aria-current', 'page');
    expect(screen.getByRole('status', { name: /Live updates: Connecting/ })).toBeInTheDocument();

    const counts = screen.getByRole('list', { name: 'Task counts by stage' });
    await waitFor(() => expect(counts).toHaveTextContent('Completed: 30'));
    expect(screen.getByTestId('queue-dlq')).toHaveTextContent('4');
    expect(screen.getByText('Ratio: 30.0%')).toBeInTheDocument();

    act(() => {
      FakeEventSource.last().open();
      FakeEventSource.last().send({ type: 'task_state_changed', task_id: 'a', old_state: 'ACTIVE', new_state: 'COMPLETED' });
      env.store.flush();
    });
    expect(screen.getByRole('status', { name: 'Live updates: Connected' })).toBeInTheDocument();
    expect(counts).toHaveTextContent('Completed: 31');
    expect(counts).toHaveTextContent('Active: 1');

    expect(await screen.findByText('exec-1/w0')).toBeInTheDocument();
    expect(screen.getByText('CB: closed')).toBeInTheDocument();
    expect(await screen.findByText('No API key; local fallbacks in use')).toBeInTheDocument();
  });

  it('resets the circuit breaker after confirmation', async () => {
    const user = userEvent.setup();
    const env = gateway();
    renderApp(env);
    await screen.findByText('exec-1/w0');
    await user.click(screen.getByRole('button', { name: 'Reset circuit breaker' }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Reset' }));
    expect(await screen.findByText('Circuit breakers reset')).toBeInTheDocument();
    expect(env.calls.some((c) => c.method === 'POST' && c.path === '/api/v1/workers/reset-circuit-breaker')).toBe(true);
  });

  it('asks for a token once after a 401 and then uses it for calls and the stream', async () => {
    const user = userEvent.setup();
    const env = gateway('tok');
    renderApp(env);
    const dialog = await screen.findByRole('dialog', { name: 'Access token required' });
    await user.type(within(dialog).getByLabelText('Token'), 'tok');
    await user.click(within(dialog).getByRole('button', { name: 'Use token' }));
    await waitFor(() => expect(screen.getByTestId('queue-primary')).toHaveTextContent('3'));
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(env.client.tokens.get()).toBe('tok');
    await waitFor(() => expect(FakeEventSource.last().url).toContain('token=tok'));
  });

  it('navigates between pages by hash', async () => {
    const user = userEvent.setup();
    renderApp(gateway());
    await user.click(screen.getByRole('link', { name: 'Tasks Cleanup' }));
    expect(await screen.findByRole('heading', { name: 'Delete tasks by state and age' })).toBeInTheDocument();
    await user.click(screen.getByRole('link', { name: 'New Task' }));
    expect(await screen.findByLabelText('Text to summarize')).toBeInTheDocument();
    await user.click(screen.getByRole('link', { name: 'Limits' }));
    expect(await screen.findByRole('heading', { name: 'Limits per task type' })).toBeInTheDocument();
  });

  it('skips to the content without leaving the page (the hash is the route)', async () => {
    const user = userEvent.setup();
    renderApp(gateway());
    await user.click(screen.getByRole('link', { name: 'New Task' }));
    await screen.findByLabelText('Text to summarize');
    await user.click(screen.getByRole('link', { name: 'Skip to content' }));
    expect(document.activeElement).toBe(screen.getByRole('main'));
    expect(window.location.hash).toBe('#/new');
    expect(screen.getByLabelText('Text to summarize')).toBeInTheDocument();
  });

  it('parses routes with parameters', () => {
    expect(parseRoute('#/history?task_id=abc').tab).toBe('history');
    expect(parseRoute('#/history?task_id=abc').params.get('task_id')).toBe('abc');
    expect(parseRoute('').tab).toBe('dashboard');
    expect(parseRoute('#/nowhere').tab).toBe('dashboard');
  });
});
