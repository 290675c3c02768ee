import { act, render, screen } from '@testing-library/react';
import { Profiler } from 'react';
import { describe, expect, it } from 'vitest';
import { LiveStore } from '../live/store';
import { testServices } from '../test/fakeGateway';
import { ServicesContext } from '../services';
import { DashboardPage } from './DashboardPage';

describe('DashboardPage under load', () => {
  it('renders a few times, not once per event, for a burst of 200 events', async () => {
    const { client } = testServices({ 'GET /api/v1/workers/': () => ({ worker_details: [] }) });
    const store = new LiveStore(250);
    let commits = 0;
    render(
      <ServicesContext.Provider value={{ client, store }}>
        <Profiler id="dashboard" onRender={() => (commits += 1)}>
          <DashboardPage />
        </Profiler>
      </ServicesContext.Provider>,
    );
    await screen.findByText('No worker has reported a heartbeat.');
    const before = commits;
    await act(async () => {
      for (let i = 0; i < 200; i += 1) {
        store.push({ type: 'task_created', taskId: `t${i}`, taskType: 'summarize', queues: null, states: null });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    expect(commits - before).toBeLessThanOrEqual(2);
    expect(screen.getByTestId('queue-primary')).toHaveTextContent('200');
  });
});
