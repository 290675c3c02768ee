import { act, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { queueStatus } from '../api/normalize';
import { parseEvent } from '../live/events';
import type { LiveStore } from '../live/store';
import { testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { CorruptBadge } from './CorruptBadge';

const DEPTHS = { primary: 0, retry: 0, scheduled: 0, dlq: 0 };

function initialStatus(store: LiveStore, fields: Record<string, unknown>): void {
  const event = parseEvent(
    JSON.stringify({ type: 'initial_status', queue_depths: DEPTHS, state_counts: {}, retry_ratio: 0.3, ...fields }),
  );
  if (!event) throw new Error('unparsed');
  act(() => {
    store.push(event);
    store.flush();
  });
}

describe('CorruptBadge', () => {
  it('shows the live stream snapshot count, links to the Queues page and polls nothing', async () => {
    const { services, store, calls } = testServices({});
    renderWith(services, <CorruptBadge />);
    expect(screen.queryByTestId('corrupt-badge')).not.toBeInTheDocument();
    initialStatus(store, { corrupt_tasks: 3 });
    const badge = await screen.findByRole('link', { name: '3 tasks set aside as corrupt' });
    expect(badge).toHaveAttribute('href', '#/queues');
    expect(badge).toHaveTextContent('3 corrupt');
    initialStatus(store, {}); // an original gateway's snapshot says nothing: the count stays
    expect(screen.getByTestId('corrupt-badge')).toHaveTextContent('3 corrupt');
    initialStatus(store, { corrupt_tasks: 0 });
    expect(screen.queryByTestId('corrupt-badge')).not.toBeInTheDocument();
    expect(calls).toEqual([]);
  });

  it('takes the count from the GET status snapshot the stream falls back to', async () => {
    const { services, store } = testServices({});
    renderWith(services, <CorruptBadge />);
    act(() => store.snapshot(queueStatus({ queues: DEPTHS, states: {}, retry_ratio: 0.3, corrupt_tasks: '1' })));
    expect(await screen.findByRole('link', { name: '1 task set aside as corrupt' })).toBeInTheDocument();
  });
});
