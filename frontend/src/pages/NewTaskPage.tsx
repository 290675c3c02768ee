// New task: submit a text to summarize, a PDF to extract, or a task of any registered
// type (content and JSON metadata, now, after a delay or at a time), then follow the
// task live until its result is in.
import { memo, useEffect, useState, type FormEvent } from 'react';
import type { TaskDetail } from '../api/types';
import { RunTimeFields, runTime, type DelayUnit, type RunMode } from '../components/RunTimeFields';
import { StateTimeline, ErrorTimeline } from '../components/Timeline';
import { TaskResult } from '../components/TaskResult';
import { Button, Card, ErrorMessage, StatusBadge, TypeBadge } from '../components/ui';
import { formatBytes } from '../format';
import { followTask } from '../live/taskFollower';
import { useServices } from '../services';
import { useAsyncAction } from '../useAsyncAction';
import { useTaskTypes } from '../useTaskTypes';

export const MAX_PDF_BYTES = 50 * 1024 * 1024;

const INPUT =
  'w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm focus:border-blue-500 focus:outline-none focus:ring-2 focus:ring-blue-500';

/** Why this file cannot be sent, or null if it can. */
export function pdfProblem(file: File | null): string | null {
  if (!file) return 'Choose a PDF file.';
  const isPdf = file.type === 'application/pdf' || file.name.toLowerCase().endsWith('.pdf');
  if (!isPdf) return 'The file must be a PDF.';
  if (file.size > MAX_PDF_BYTES) return `The file is ${formatBytes(file.size)}; the limit is 50 MB.`;
  return null;
}

export const NewTaskPage = memo(function NewTaskPage() {
  const [followed, setFollowed] = useState<string | null>(null);
  return (
    <div className="grid gap-6 lg:grid-cols-2">
      <SummarizeForm onCreated={setFollowed} />
      <PdfForm onCreated={setFollowed} />
      <div className="lg:col-span-2">
        <AnyTypeForm onCreated={setFollowed} />
      </div>
      {followed && (
        <div className="lg:col-span-2">
          <FollowedTask key={followed} taskId={followed} />
        </div>
      )}
    </div>
  );
});

function SummarizeForm({ onCreated }: { onCreated: (taskId: string) => void }) {
  const { client } = useServices();
  const [content, setContent] = useState('');
  const { busy, error, run } = useAsyncAction(async () => {
    const created = await client.createSummarize(content);
    onCreated(created.task_id);
    setContent('');
  });
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    void run();
  };
  return (
    <Card title="Summarize a text" headingId="new-summarize">
      <form onSubmit={submit} className="space-y-3">
        <div>
          <label htmlFor="summarize-content" className="mb-1 block text-sm font-medium text-slate-700">
            Text to summarize
          </label>
          <textarea
            id="summarize-content"
            rows={8}
            value={content}
            onChange={(event) => setContent(event.target.value)}
            className={INPUT}
            required
          />
          <p className="mt-1 text-xs text-slate-500">{content.length.toLocaleString()} characters</p>
        </div>
        {error && <ErrorMessage>{error}</ErrorMessage>}
        <Button type="submit" variant="primary" disabled={busy || !content.trim()}>
          {busy ? 'Submitting…' : 'Submit summarize task'}
        </Button>
      </form>
    </Card>
  );
}

/** The metadata text as a JSON object, or why it is not one. */
export function parseMetadata(text: string): { value: Record<string, unknown> } | { problem: string } {
  if (!text.trim()) return { value: {} };
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return { value: value as Record<string, unknown> };
    return { problem: 'Metadata must be a JSON object, e.g. {"language": "en"}.' };
  } catch (error) {
    return { problem: `Metadata is not valid JSON: ${(error as Error).message}` };
  }
}

function AnyTypeForm({ onCreated }: { onCreated: (taskId: string) => void }) {
  const { client } = useServices();
  const kinds = useTaskTypes();
  const [chosen, setChosen] = useState('');
  const [content, setContent] = useState('');
  const [metadata, setMetadata] = useState('');
  const [mode, setMode] = useState<RunMode>('now');
  const [amount, setAmount] = useState('');
  const [unit, setUnit] = useState<DelayUnit>('minutes');
  const [at, setAt] = useState('');
  const taskType = chosen || kinds[0]?.name || '';
  const kind = kinds.find((k) => k.name === taskType);
  const parsed = parseMetadata(metadata);
  const when = runTime(mode, amount, unit, at);
  const { busy, error, run } = useAsyncAction(async () => {
    if ('problem' in parsed || 'problem' in when) return;
    const created = await client.createTask(taskType, content, parsed.value, when.value);
    onCreated(created.task_id);
    setContent('');
  });
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    void run();
  };
  return (
    <Card title="Any task type" headingId="new-any">
      <form onSubmit={submit} className="grid gap-3 sm:grid-cols-2">
        <div className="sm:col-span-2">
          <label htmlFor="any-type" className="mb-1 block text-sm font-medium text-slate-700">
            Task type
          </label>
          <select id="any-type" value={taskType} onChange={(event) => setChosen(event.target.value)} className={INPUT}>
            {kinds.map((k) => (
              <option key={k.name} value={k.name}>
                {k.name}
              </option>
            ))}
          </select>
          {kind && (
            <p className="mt-1 text-xs text-slate-500" data-testid="task-type-settings">
              {kind.description ? `${kind.description} · ` : ''}
              {kind.builtin ? 'built-in' : 'from a task module'}
              {kind.cpu_bound ? ' · CPU-bound' : ''} · {kind.default_max_retries} retries · content up to{' '}
              {formatBytes(kind.max_content_bytes)}
            </p>
          )}
        </div>
        <div>
          <label htmlFor="any-content" className="mb-1 block text-sm font-medium text-slate-700">
            Content
          </label>
          <textarea id="any-content" rows={6} value={content} onChange={(event) => setContent(event.target.value)} className={INPUT} />
        </div>
        <div>
          <label htmlFor="any-metadata" className="mb-1 block text-sm font-medium text-slate-700">
            Metadata (JSON object)
          </label>
          <textarea
            id="any-metadata"
            rows={6}
            value={metadata}
            onChange={(event) => setMetadata(event.target.value)}
            placeholder='{"key": "value"}'
            aria-invalid={'problem' in parsed}
            className={`${INPUT} font-mono`}
          />
          {'problem' in parsed && <p className="mt-1 text-xs text-red-700">{parsed.problem}</p>}
        </div>
        <RunTimeFields
          mode={mode}
          setMode={setMode}
          amount={amount}
          setAmount={setAmount}
          unit={unit}
          setUnit={setUnit}
          at={at}
          setAt={setAt}
          problem={'problem' in when ? when.problem : null}
          inputClassName={INPUT}
        />
        <div className="sm:col-span-2">
          {error && <ErrorMessage>{error}</ErrorMessage>}
          <Button type="submit" variant="primary" disabled={busy || !taskType || 'problem' in parsed || 'problem' in when}>
            {busy ? 'Submitting…' : `Submit ${taskType || 'a'} task`}
          </Button>
        </div>
      </form>
    </Card>
  );
}

function PdfForm({ onCreated }: { onCreated: (taskId: string) => void }) {
  const { client } = useServices();
  const [file, setFile] = useState<File | null>(null);
  const [issueDate, setIssueDate] = useState('');
  const problem = pdfProblem(file);
  const { busy, error, setError, run } = useAsyncAction(async () => {
    if (!file) return;
    const created = await client.createPdfxtract(file, issueDate || undefined);
    onCreated(created.task_id);
  });
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    if (problem) setError(problem);
    else void run();
  };
  return (
    <Card title="Extract articles from a PDF" headingId="new-pdf">
      <form onSubmit={submit} className="space-y-3">
        <div>
          <label htmlFor="pdf-file" className="mb-1 block text-sm font-medium text-slate-700">
            PDF file (up to 50 MB)
          </label>
          <input
            id="pdf-file"
            type="file"
            accept="application/pdf,.pdf"
            onChange={(event) => {
              setFile(event.target.files?.[0] ?? null);
              setError(null);
            }}
            className="block w-full text-sm text-slate-700 file:mr-3 file:rounded-md file:border file:border-slate-300 file:bg-white file:px-3 file:py-1.5"
          />
          {file && <p className="mt-1 text-xs text-slate-500">{file.name}, {formatBytes(file.size)}</p>}
        </div>
        <div>
          <label htmlFor="pdf-issue-date" className="mb-1 block text-sm font-medium text-slate-700">
            Issue date (optional)
          </label>
          <input id="pdf-issue-date" type="date" value={issueDate} onChange={(event) => setIssueDate(event.target.value)} className={INPUT} />
        </div>
        {error && <ErrorMessage>{error}</ErrorMessage>}
        {file && problem && !error && <ErrorMessage>{problem}</ErrorMessage>}
        <Button type="submit" variant="primary" disabled={busy || !file || problem !== null}>
          {busy ? 'Uploading…' : 'Submit PDF task'}
        </Button>
      </form>
    </Card>
  );
}

export function FollowedTask({ taskId }: { taskId: string }) {
  const { client } = useServices();
  const [task, setTask] = useState<TaskDetail | null>(null);
  const [deleted, setDeleted] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(
    () =>
      followTask(client, taskId, {
        onTask: (value) => {
          setTask(value);
          setError(null);
        },
        onDeleted: () => setDeleted(true),
        onError: setError,
      }),
    [client, taskId],
  );

  return (
    <Card title="Your task" headingId="followed-task">
      <div className="space-y-4" aria-live="polite">
        <div className="flex flex-wrap items-center gap-2">
          <code className="break-all text-sm" data-testid="followed-task-id">
            {taskId}
          </code>
          {task && <StatusBadge state={task.state} />}
          {task && <TypeBadge type={task.task_type} />}
          {deleted && <span className="text-sm text-slate-500">deleted</span>}
          <a
            href={`#/history?task_id=${encodeURIComponent(taskId)}`}
            className="text-sm font-medium text-blue-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500"
          >
            Open in Tasks History
          </a>
        </div>
        {error && <ErrorMessage>{error}</ErrorMessage>}
        {!task && !error && <p className="text-sm text-slate-500">Waiting for the task…</p>}
        {task && (
          <>
            <StateTimeline history={task.state_history ?? []} />
            {(task.error_history ?? []).length > 0 && <ErrorTimeline history={task.error_history ?? []} />}
            <div>
              <h4 className="mb-2 text-sm font-semibold text-slate-800">Result</h4>
              <TaskResult result={task.result} />
            </div>
          </>
        )}
      </div>
    </Card>
  );
}
