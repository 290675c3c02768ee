import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEventSource } from '../test/fakeEventSource';
import { json, testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { runTime } from '../components/RunTimeFields';
import { NewTaskPage, parseMetadata, pdfProblem } from './NewTaskPage';

describe('NewTaskPage', () => {
  beforeEach(() => {
    FakeEventSource.reset();
    vi.stubGlobal('EventSource', FakeEventSource);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('submits a text and follows the task live to its summary', async () => {
    const user = userEvent.setup();
    const { services, calls } = testServices({
      'POST /api/v1/tasks/summarize/': () => json(201, { task_id: 'task-1', state: 'PENDING' }),
    });
    renderWith(services, <NewTaskPage />);
    const submit = screen.getByRole('button', { name: 'Submit summarize task' });
    expect(submit).toBeDisabled();
    await user.type(screen.getByLabelText('Text to summarize'), 'A long article.');
    await user.click(submit);
    expect(await screen.findByTestId('followed-task-id')).toHaveTextContent('task-1');
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ content: 'A long article.' });

    const source = FakeEventSource.last();
    expect(source.url).toBe('/api/v1/tasks/task-1/events');
    act(() =>
      source.send({
        type: 'task',
        old_state: 'ACTIVE',
        task: {
          task_id: 'task-1',
          task_type: 'summarize',
          state: 'COMPLETED',
          result: 'The summary.',
          state_history: [
            { state: 'PENDING', timestamp: '2025-01-01T00:00:00Z' },
            { state: 'ACTIVE', timestamp: '2025-01-01T00:00:01Z' },
            { state: 'COMPLETED', timestamp: '2025-01-01T00:00:03Z' },
          ],
        },
      }),
    );
    expect(await screen.findByText('The summary.')).toBeInTheDocument();
    expect(screen.getAllByText('COMPLETED').length).toBeGreaterThan(0);
    expect(source.closed).toBe(true);
    expect(screen.getByRole('link', { name: 'Open in Tasks History' })).toHaveAttribute('href', '#/history?task_id=task-1');
  });

  it('uploads a PDF with its issue date and shows the gateway refusal', async () => {
    const user = userEvent.setup();
    const { services, calls } = testServices({
      'POST /api/v1/tasks/pdfxtract': () => json(413, { detail: 'File too large' }),
    });
    renderWith(services, <NewTaskPage />);
    await user.upload(screen.getByLabelText('PDF file (up to 50 MB)'), new File(['%PDF-1.4'], 'paper.pdf', { type: 'application/pdf' }));
    await user.type(screen.getByLabelText('Issue date (optional)'), '2023-12-31');
    await user.click(screen.getByRole('button', { name: 'Submit PDF task' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('File too large (HTTP 413)');
    await waitFor(() =>
      expect((calls.find((c) => c.method === 'POST')?.body as FormData).get('issue_date')).toBe('2023-12-31'),
    );
  });

  it('sends a task of any type after a delay or at a local time, and refuses a bad one before sending', async () => {
    const user = userEvent.setup();
    let made = 0;
    const { services, calls } = testServices({
      'GET /api/v1/task-types': () => json(200, { task_types: [{ name: 'echo', builtin: false }] }),
      'POST /api/v1/tasks': () => json(201, { task_id: `task-${++made}`, state: 'SCHEDULED' }),
    });
    renderWith(services, <NewTaskPage />);
    const form = within(screen.getByRole('region', { name: 'Any task type' }));
    await waitFor(() => expect(form.getByRole('button', { name: 'Submit echo task' })).toBeEnabled());
    await user.type(form.getByLabelText('Content'), 'later');
    await user.selectOptions(form.getByLabelText('Run'), 'delay');
    const submit = form.getByRole('button', { name: 'Submit echo task' });
    expect(submit).toBeDisabled();
    expect(form.getByText('The delay must be a positive number.')).toBeInTheDocument();
    await user.type(form.getByLabelText('Delay'), '90');
    await user.selectOptions(form.getByLabelText('Delay unit'), 'seconds');
    await user.click(submit);
    expect(await screen.findByTestId('followed-task-id')).toHaveTextContent('task-1');

    await user.selectOptions(form.getByLabelText('Run'), 'at');
    expect(submit).toBeDisabled();
    await user.type(form.getByLabelText('Run at (your local time)'), '2030-01-02T03:04:05');
    expect(submit).toBeDisabled(); // more than a year ahead
    expect(form.getByText('The run time must be within 365 days.')).toBeInTheDocument();
    const soon = new Date(Date.now() + 3_600_000);
    const local = new Date(soon.getTime() - soon.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
    await user.clear(form.getByLabelText('Run at (your local time)'));
    await user.type(form.getByLabelText('Run at (your local time)'), local);
    await user.click(submit);
    expect(await screen.findByTestId('followed-task-id')).toHaveTextContent('task-2');

    const bodies = calls.filter((c) => c.method === 'POST').map((c) => c.body);
    expect(bodies[0]).toEqual({ task_type: 'echo', content: 'later', metadata: {}, delay: 90 });
    expect(bodies[1]).toEqual({
      task_type: 'echo',
      content: '',
      metadata: {},
      run_at: new Date(local).toISOString(),
    });
  });

  it('refuses files that are not PDFs or too large before sending', () => {
    expect(pdfProblem(null)).toBe('Choose a PDF file.');
    expect(pdfProblem(new File(['x'], 'notes.txt', { type: 'text/plain' }))).toBe('The file must be a PDF.');
    const huge = new File(['x'], 'big.pdf', { type: 'application/pdf' });
    Object.defineProperty(huge, 'size', { value: 51 * 1024 * 1024 });
    expect(pdfProblem(huge)).toBe('The file is 51.0 MB; the limit is 50 MB.');
    expect(pdfProblem(new File(['%PDF'], 'ok.PDF'))).toBeNull();
  });
});

describe('parseMetadata', () => {
  it('takes a JSON object, nothing, and refuses anything else', () => {
    expect(parseMetadata('')).toEqual({ value: {} });
    expect(parseMetadata('{"a": 1}')).toEqual({ value: { a: 1 } });
    expect(parseMetadata('[1]')).toHaveProperty('problem');
    expect(parseMetadata('{oops')).toHaveProperty('problem');
  });
});

describe('runTime', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  it('turns the Run fields into a delay or a UTC run time, and says what is wrong', () => {
    expect(runTime('now', '', 'minutes', '', now)).toEqual({ value: {} });
    expect(runTime('delay', '10', 'minutes', '', now)).toEqual({ value: { delay: 600 } });
    expect(runTime('delay', '1.5', 'hours', '', now)).toEqual({ value: { delay: 5400 } });
    expect(runTime('delay', '0', 'seconds', '', now)).toHaveProperty('problem');
    expect(runTime('delay', '', 'seconds', '', now)).toHaveProperty('problem');
    expect(runTime('delay', '366', 'days', '', now)).toHaveProperty('problem');
    expect(runTime('delay', '365', 'days', '', now)).toEqual({ value: { delay: 365 * 86400 } });
    const at = runTime('at', '', 'minutes', '2026-06-02T08:30', now);
    expect(at).toEqual({ value: { run_at: new Date('2026-06-02T08:30').toISOString() } });
    expect(runTime('at', '', 'minutes', '', now)).toHaveProperty('problem');
    expect(runTime('at', '', 'minutes', '2027-06-02T12:00', now)).toHaveProperty('problem');
  });
});
