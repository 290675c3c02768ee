import { screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { TaskLogs } from './TaskLogs';

const ID = '5b0c7a36-3f1e-4b8e-9c52-0d7f1e2a9b11';

function line(seq: number, level: string, message: string) {
  return { seq: String(seq), time: '2025-07-21T16:17:09.123Z', level, logger: 'taskflow.task.chatty', message };
}

describe('TaskLogs', () => {
  it('shows the lines level-coloured and reads on after the last seq while ACTIVE', async () => {
    const kept = [line(1, 'INFO', 'step 1'), line(2, 'WARNING', 'step 2 slow')];
    const asked: string[] = [];
    const { services } = testServices({
      [`GET /api/v1/tasks/${ID}/logs`]: (call) => {
        const after = Number(call.query.get('after_seq'));
        asked.push(String(after));
        const lines = kept.filter((l) => Number(l.seq) > after);
        return { lines, next_after_seq: lines.at(-1)?.seq ?? String(after), truncated: false, more: false };
      },
    });
    renderWith(services, <TaskLogs taskId={ID} active />);
    expect(await screen.findByText(/step 1/)).toBeInTheDocument();
    const warning = screen.getByText(/step 2 slow/).closest('[data-level]');
    expect(warning).toHaveAttribute('data-level', 'WARNING');
    expect(warning?.className).toContain('text-amber-300');

    kept.push(line(3, 'ERROR', 'step 3 failed'));
    expect(await screen.findByText(/step 3 failed/, undefined, { timeout: 5000 })).toBeInTheDocument();
    await waitFor(() => expect(asked).toContain('2'));
    expect(screen.getAllByText(/step 1/)).toHaveLength(1); // no line twice
  });

  it('says so when a finished task logged nothing', async () => {
    const { services } = testServices({
      [`GET /api/v1/tasks/${ID}/logs`]: () => ({ lines: [], next_after_seq: '0', truncated: false, more: false }),
    });
    renderWith(services, <TaskLogs taskId={ID} active={false} />);
    expect(await screen.findByText('No log lines.')).toBeInTheDocument();
  });
});
