import { describe, expect, it, vi } from 'vitest';
import { json, testServices } from '../test/fakeGateway';
import { ApiClient, ApiError, errorDetail } from './client';
import { memoryTokenStore } from './token';

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('ApiClient errors', () => {
  it('reports the detail of a 404', async () => {
    const { client } = testServices({ 'GET /api/v1/tasks/nope': () => json(404, { detail: 'Task nope not found' }) });
    const error = await failure(client.task('nope'));
    expect(error.status).toBe(404);
    expect(error.detail).toBe('Task nope not found');
    expect(error.message).toBe('Task nope not found (HTTP 404)');
  });

  it('turns a 422 validation list into readable text', async () => {
    const { client } = testServices({
      'POST /api/v1/tasks/summarize/': () =>
        json(422, {
          detail: [
            { loc: ['body', 'content'], msg: 'String should have at least 1 character', type: 'string_too_short' },
            { loc: ['query', 'page'], msg: 'Input should be greater than 0' },
          ],
        }),
    });
    const error = await failure(client.createSummarize(''));
    expect(error.status).toBe(422);
    expect(error.detail).toBe('content: String should have at least 1 character; page: Input should be greater than 0');
  });

  it('survives a 500 with an HTML or empty body', async () => {
    const { client } = testServices({
      'GET /api/v1/queues/status': () => new Response('<html><body>Internal Server Error</body></html>', { status: 500, statusText: 'Internal Server Error' }),
      'GET /api/v1/workers/': () => new Response('', { status: 502 }),
    });
    expect((await failure(client.queueStatus())).detail).toBe('HTTP 500 Internal Server Error');
    expect((await failure(client.workers())).detail).toBe('HTTP 502');
  });

  it('reports an unreachable gateway as status 0', async () => {
    const client = new ApiClient({
      fetch: () => Promise.reject(new TypeError('Failed to fetch')),
      tokens: memoryTokenStore(),
    });
    const error = await failure(client.queueStatus());
    expect(error.status).toBe(0);
    expect(error.message).toBe('Cannot reach the gateway');
  });

  it('reads plain-text and odd error bodies', () => {
    expect(errorDetail(503, 'Service Unavailable', 'monitor down')).toBe('monitor down');
    expect(errorDetail(409, '', '{"detail":{"state":"COMPLETED"}}')).toBe('{"state":"COMPLETED"}');
    expect(errorDetail(400, 'Bad Request', '{}')).toBe('HTTP 400 Bad Request');
  });
});

describe('ApiClient 401', () => {
  it('asks for a token once, keeps it, and retries with it', async () => {
    const { client, calls } = testServices({
      'GET /api/v1/queues/status': (call) =>
        call.headers.Authorization === 'Bearer tok' ? { queues: {}, states: {}, retry_ratio: 0.3 } : json(401, { detail: 'Not authenticated' }),
    });
    const prompt = vi.fn(() => new Promise<string | null>((resolve) => setTimeout(() => resolve('tok'), 5)));
    client.setTokenPrompt(prompt);
    const [a, b] = await Promise.all([client.queueStatus(), client.queueStatus()]);
    expect(a.retry_ratio).toBe(0.3);
    expect(b.retry_ratio).toBe(0.3);
    expect(prompt).toHaveBeenCalledTimes(1);
    expect(client.tokens.get()).toBe('tok');
    expect(client.streamUrl('/s')).toBe('/s?token=tok');
    await client.queueStatus();
    expect(prompt).toHaveBeenCalledTimes(1);
    expect(calls.at(-1)?.headers.Authorization).toBe('Bearer tok');
  });

  it('fails with 401 and forgets a rejected token when no token is given', async () => {
    const { client } = testServices({ 'GET /api/v1/workers/': () => json(401, { detail: 'Invalid token' }) }, 'old');
    client.setTokenPrompt(() => Promise.resolve(null));
    const error = await failure(client.workers());
    expect(error.status).toBe(401);
    expect(error.detail).toBe('Invalid token');
    expect(client.tokens.get()).toBeNull();
  });
});

describe('ApiClient calls', () => {
  it('sends the task query without empty parameters and normalizes the page', async () => {
    const { client, calls } = testServices({
      'GET /api/v1/tasks/summaries/': () => ({
        tasks: [{ task_id: 'a', task_type: 'summarize', state: 'TASK_STATE_COMPLETED', created_at: '2025-01-01T00:00:00Z' }],
        page: 2,
        page_size: 10,
        total_items: 11,
        total_pages: 2,
      }),
    });
    const page = await client.taskSummaries({ status: 'COMPLETED', task_id: '', page: 2, page_size: 10, sort_order: 'desc' });
    expect(calls[0]?.query.toString()).toBe('status=COMPLETED&page=2&page_size=10&sort_order=desc');
    expect(page.tasks[0]?.state).toBe('COMPLETED');
    expect(page.total_items).toBe(11);
  });

  it('parses histories given as JSON text', async () => {
    const { client } = testServices({
      'GET /api/v1/tasks/a': () => ({
        task_id: 'a',
        state: 'DLQ',
        error_history: '[{"error":"boom","error_type":"PermanentError"}]',
        state_history: [{ state: 'PENDING', timestamp: 't' }],
        metadata: '{"filename":"x.pdf"}',
      }),
    });
    const task = await client.task('a');
    expect(task.error_history).toEqual([{ error: 'boom', error_type: 'PermanentError' }]);
    expect(task.state_history?.[0]?.state).toBe('PENDING');
    expect(task.metadata).toEqual({ filename: 'x.pdf' });
  });

  it('posts the bulk operations to their paths', async () => {
    const { client, calls } = testServices({
      'POST /api/v1/tasks/cleanup': () => ({ deleted: 3, message: 'ok' }),
      'POST /api/v1/queues/dlq/retry-all': () => ({ retried: 2, message: 'ok' }),
      'DELETE /api/v1/queues/dlq': () => ({ purged: 1, message: 'ok' }),
      'POST /api/v1/tasks/requeue-orphaned': () => ({ found: 4, requeued: 3, errors: ['x'], message: 'ok' }),
      'POST /api/v1/tasks/a/retry': () => ({ task_id: 'a', state: 'PENDING' }),
    });
    expect((await client.cleanup({ states: ['COMPLETED'], older_than_seconds: 60 })).deleted).toBe(3);
    expect(calls[0]?.body).toEqual({ states: ['COMPLETED'], older_than_seconds: 60 });
    expect((await client.retryAllDlq()).retried).toBe(2);
    expect((await client.purgeDlq()).purged).toBe(1);
    expect(await client.requeueOrphaned()).toEqual({ found: 4, requeued: 3, errors: 1, message: 'ok' });
    expect((await client.retryTask('a', true)).state).toBe('PENDING');
    expect(calls.at(-1)?.body).toEqual({ reset_retry_count: true });
  });

  it('uploads a PDF as multipart with the issue date', async () => {
    const { client, calls } = testServices({ 'POST /api/v1/tasks/pdfxtract': () => json(201, { task_id: 'p', state: 'PENDING' }) });
    const file = new File(['%PDF-1.4'], 'paper.pdf', { type: 'application/pdf' });
    expect(await client.createPdfxtract(file, '2023-12-31')).toEqual({ task_id: 'p', state: 'PENDING' });
    const form = calls[0]?.body as FormData;
    expect((form.get('file') as File).name).toBe('paper.pdf');
    expect(form.get('issue_date')).toBe('2023-12-31');
  });
});
