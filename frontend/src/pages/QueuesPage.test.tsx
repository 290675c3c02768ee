import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { QueuesPage, rateText } from './QueuesPage';

const DEFAULT = {
  name: 'default',
  primary: '5',
  primary_by_priority: { '0': '2', '7': '3' },
  retry: '1',
  waiting: { resize: '4' },
  paused: false,
  workers: ['host-1-a', 'host-2-b'],
};
const EMAILS = { name: 'emails', primary: '2', primary_by_priority: { '0': '2' }, retry: '0', waiting: {}, paused: true, workers: [] };

function status(emailsPaused: boolean) {
  return {
    queues: { primary: 5, retry: 1, scheduled: 0, dlq: 0 },
    states: {},
    retry_ratio: 0.3,
    named_queues: [DEFAULT, { ...EMAILS, paused: emailsPaused }],
  };
}

describe('QueuesPage', () => {
  it('lists each queue with its depth, priorities, waiting types, state and workers', async () => {
    const { services } = testServices({ 'GET /api/v1/queues/status': () => status(true) });
    renderWith(services, <QueuesPage />);
    const row = await screen.findByRole('row', { name: 'Queue default' });
    expect(within(row).getByTestId('depth')).toHaveTextContent('10');
    expect(row).toHaveTextContent('p7: 3, p0: 2');
    expect(row).toHaveTextContent('resize: 4');
    expect(row).toHaveTextContent('Active');
    expect(row).toHaveTextContent('2');
    const emails = screen.getByRole('row', { name: 'Queue emails' });
    expect(emails).toHaveTextContent('Paused');
    expect(within(emails).getByRole('button', { name: 'Resume queue emails' })).toBeInTheDocument();
  });

  it('pauses a queue after confirmation and resumes a paused one', async () => {
    const user = userEvent.setup();
    let emailsPaused = true;
    let defaultPaused = false;
    const { services, calls } = testServices({
      'GET /api/v1/queues/status': () => {
        const body = status(emailsPaused);
        body.named_queues[0] = { ...DEFAULT, paused: defaultPaused };
        return body;
      },
      'POST /api/v1/queues/emails/resume': () => {
        emailsPaused = false;
        return { name: 'emails', paused: false, changed: true };
      },
      'POST /api/v1/queues/default/pause': () => {
        defaultPaused = true;
        return { name: 'default', paused: true, changed: true };
      },
    });
    renderWith(services, <QueuesPage />);
    await user.click(await screen.findByRole('button', { name: 'Resume queue emails' }));
    await within(screen.getByRole('row', { name: 'Queue emails' })).findByText('Active');

    await user.click(screen.getByRole('button', { name: 'Pause queue default' }));
    const dialog = await screen.findByRole('dialog', { name: 'Pause queue default?' });
    await user.click(within(dialog).getByRole('button', { name: 'Pause' }));
    await within(screen.getByRole('row', { name: 'Queue default' })).findByText('Paused');
    const posts = calls.filter((c) => c.method === 'POST').map((c) => c.path);
    expect(posts).toEqual(['/api/v1/queues/emails/resume', '/api/v1/queues/default/pause']);
  });

  it('lists the ids set aside as corrupt and drops them after confirmation', async () => {
    const user = userEvent.setup();
    let listed = [
      { task_id: 'not-a-uuid', fields: {} },
      { task_id: 'b1', fields: { state: 'LIMBO', content: 'x' } },
    ];
    const { services, calls } = testServices({
      'GET /api/v1/queues/status': () => ({ ...status(false), corrupt_tasks: String(listed.length) }),
      'GET /api/v1/queues/corrupt': () => ({ tasks: listed, total: String(listed.length) }),
      'POST /api/v1/queues/corrupt/drop': () => {
        listed = [];
        return { dropped: '2' };
      },
    });
    renderWith(services, <QueuesPage />);
    const item = await screen.findByRole('listitem', { name: 'Corrupt b1' });
    expect(item).toHaveTextContent('state="LIMBO"');
    expect(screen.getByRole('listitem', { name: 'Corrupt not-a-uuid' })).toHaveTextContent('no hash left');
    await user.click(screen.getByRole('button', { name: 'Drop the corrupt ids listed' }));
    const dialog = await screen.findByRole('dialog', { name: 'Drop these ids?' });
    await user.click(within(dialog).getByRole('button', { name: 'Drop 2' }));
    const drop = calls.find((c) => c.method === 'POST');
    expect(drop?.body).toEqual({ task_ids: ['not-a-uuid', 'b1'] });
    await waitFor(() => expect(screen.queryByRole('heading', { name: /Set aside as corrupt/ })).not.toBeInTheDocument());
  });

  it('deletes one corrupt task after confirmation', async () => {
    const user = userEvent.setup();
    let listed = [
      { task_id: 'b1', fields: { state: 'LIMBO' } },
      { task_id: 'b2', fields: { retry_count: 'many' } },
    ];
    const { services, calls } = testServices({
      'GET /api/v1/queues/status': () => ({ ...status(false), corrupt_tasks: String(listed.length) }),
      'GET /api/v1/queues/corrupt': () => ({ tasks: listed, total: String(listed.length) }),
      'DELETE /api/v1/tasks/b1': () => {
        listed = listed.filter((entry) => entry.task_id !== 'b1');
        return { task_id: 'b1', message: 'Task b1 deleted (was malformed, counted in no state)' };
      },
    });
    renderWith(services, <QueuesPage />);
    await user.click(await screen.findByRole('button', { name: 'Delete corrupt task b1' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete this task?' });
    await user.click(within(dialog).getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.queryByRole('listitem', { name: 'Corrupt b1' })).not.toBeInTheDocument());
    expect(screen.getByRole('listitem', { name: 'Corrupt b2' })).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/v1/tasks/b1']);
  });

  it('shows no corrupt panel while nothing is set aside', async () => {
    const { services, calls } = testServices({ 'GET /api/v1/queues/status': () => status(false) });
    renderWith(services, <QueuesPage />);
    await screen.findByRole('row', { name: 'Queue default' });
    expect(screen.queryByRole('heading', { name: /Set aside as corrupt/ })).not.toBeInTheDocument();
    expect(calls.some((c) => c.path === '/api/v1/queues/corrupt')).toBe(false);
  });

  it('gives the depth change per second between two readings', () => {
    expect(rateText(undefined, 5, 1000)).toBe('—');
    expect(rateText({ depth: 10, at: 0 }, 4, 2000)).toBe('-3/s');
    expect(rateText({ depth: 0, at: 0 }, 5, 2000)).toBe('+2.5/s');
  });
});
