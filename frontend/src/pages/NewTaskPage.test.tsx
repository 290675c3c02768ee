import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEventSource } from '../test/fakeEventSource';
import { json, testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
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
