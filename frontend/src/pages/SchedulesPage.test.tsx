import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { SchedulesPage } from './SchedulesPage';

const SID = '0b8f6a7e-3c55-4d1c-9a0e-5d2b8f1e4c11';
const STORED = {
  schedule_id: SID,
  spec: { task_type: 'echo', content: 'hi', cron: '0 9 * * 1-5', time_zone: 'Europe/Paris', misfire_policy: 'MISFIRE_POLICY_SKIP' },
  paused: false,
  next_fire_at: '2026-12-01T08:00:00Z',
  last_task_id: 'a1b2c3d4-0000-4000-8000-000000000000',
  last_task_state: 'TASK_STATE_COMPLETED',
  fire_count: '3',
};

describe('SchedulesPage', () => {
  it('lists schedules with their timing, last task and state', async () => {
    const { services } = testServices({ 'GET /api/v1/schedules': () => ({ schedules: [STORED] }) });
    renderWith(services, <SchedulesPage />);
    const row = await screen.findByRole('row', { name: /echo/ });
    expect(row).toHaveTextContent('0 9 * * 1-5 (Europe/Paris)');
    expect(row).toHaveTextContent('a1b2c3d4');
    expect(row).toHaveTextContent('COMPLETED');
    expect(row).toHaveTextContent('3');
  });

  it('creates an interval schedule from the form and shows a refusal clearly', async () => {
    const user = userEvent.setup();
    let refuse = true;
    const { services, calls } = testServices({
      'GET /api/v1/schedules': () => ({ schedules: [] }),
      'POST /api/v1/schedules': () =>
        refuse ? json(422, { detail: "unknown task_type 'nope'" }) : { schedule: { ...STORED, spec: { task_type: 'echo', interval: '30s' } } },
    });
    renderWith(services, <SchedulesPage />);
    await screen.findByText('No schedules yet.');
    const type = screen.getByLabelText('Task type');
    await user.clear(type);
    await user.type(type, 'nope');
    await user.selectOptions(screen.getByLabelText('Timing'), 'interval');
    const every = screen.getByLabelText('Every (seconds)');
    await user.clear(every);
    await user.type(every, '30');
    await user.click(screen.getByRole('button', { name: 'Create schedule' }));
    expect(await screen.findByText(/unknown task_type 'nope'/)).toBeInTheDocument();
    refuse = false;
    await user.click(screen.getByRole('button', { name: 'Create schedule' }));
    expect((await screen.findByRole('status')).textContent).toMatch(`Schedule ${SID} created`);
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts[1]?.body).toEqual({ spec: { task_type: 'nope', content: '', misfire_policy: 'MISFIRE_POLICY_SKIP', interval: '30s' } });
  });

  it('pauses, triggers and deletes after confirmation', async () => {
    const user = userEvent.setup();
    const { services, calls } = testServices({
      'GET /api/v1/schedules': () => ({ schedules: [STORED] }),
      [`POST /api/v1/schedules/${SID}/pause`]: () => ({ schedule: { ...STORED, paused: true } }),
      [`POST /api/v1/schedules/${SID}/trigger`]: () => ({ task_id: 'new-task' }),
      [`DELETE /api/v1/schedules/${SID}`]: () => ({ schedule_id: SID }),
    });
    renderWith(services, <SchedulesPage />);
    await user.click(await screen.findByRole('button', { name: `Pause schedule ${SID}` }));
    expect((await screen.findByRole('status')).textContent).toBe('Schedule paused.');
    await user.click(screen.getByRole('button', { name: `Trigger schedule ${SID}` }));
    expect((await screen.findByRole('status')).textContent).toBe('Task new-task created.');
    await user.click(screen.getByRole('button', { name: `Delete schedule ${SID}` }));
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Delete' }));
    await screen.findByRole('button', { name: `Delete schedule ${SID}` });
    const paths = calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`);
    expect(paths).toEqual([
      `POST /api/v1/schedules/${SID}/pause`,
      `POST /api/v1/schedules/${SID}/trigger`,
      `DELETE /api/v1/schedules/${SID}`,
    ]);
  });
});
