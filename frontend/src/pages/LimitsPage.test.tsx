import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { json, testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { LimitsPage } from './LimitsPage';

// As the transcoder answers: proto JSON, int64 fields as strings.
const LIMITS = {
  limits: [
    {
      task_type: 'metered',
      rate_limit: '10/2s',
      rate_tokens: 3,
      rate_capacity: 10,
      rate_interval_ms: '2000',
      concurrency_limit: 0,
      concurrency_key: '',
      slots: [],
      held_back: '4',
      held_by_rate_total: '17',
      held_by_concurrency_total: '0',
      declared_by: 'executor host-1',
      declared_at: '2026-11-30T21:00:00Z',
    },
    {
      task_type: 'per_tenant',
      rate_limit: '',
      rate_tokens: 0,
      rate_capacity: 0,
      rate_interval_ms: '0',
      concurrency_limit: 2,
      concurrency_key: 'metadata.tenant',
      slots: [
        { key_value: 'acme', used: 2, limit: 2 },
        { key_value: 'globex', used: 1, limit: 2 },
      ],
      held_back: '1',
      held_by_rate_total: '0',
      held_by_concurrency_total: '9',
      declared_by: 'remote worker reports',
    },
  ],
};

describe('LimitsPage', () => {
  it('shows each limit with its tokens, slots per key value and held-back tasks', async () => {
    const { services, calls } = testServices({ 'GET /api/v1/limits': () => LIMITS });
    renderWith(services, <LimitsPage />);

    const metered = await screen.findByRole('row', { name: /metered/ });
    expect(metered).toHaveTextContent('10/2s');
    expect(metered).toHaveTextContent('3 / 10');
    expect(metered).toHaveTextContent('4 now');
    expect(metered).toHaveTextContent('17 by rate, 0 by concurrency in all');
    expect(metered).toHaveTextContent('executor host-1');

    const tenant = screen.getByRole('row', { name: /per_tenant/ });
    expect(tenant).toHaveTextContent('2 per metadata.tenant');
    const slots = within(tenant).getByRole('list', { name: 'Slots of per_tenant' });
    expect(within(slots).getAllByRole('listitem').map((item) => item.textContent)).toEqual([
      'acme: 2 / 2full',
      'globex: 1 / 2',
    ]);
    expect(calls.every((call) => call.path === '/api/v1/limits')).toBe(true);
  });

  it('says when no type declares a limit, and shows a failure', async () => {
    const { services } = testServices({ 'GET /api/v1/limits': () => ({ limits: [] }) });
    const { unmount } = renderWith(services, <LimitsPage />);
    expect(await screen.findByText('No task type declares a rate or concurrency limit.')).toBeInTheDocument();
    unmount();

    const failing = testServices({ 'GET /api/v1/limits': () => json(503, { detail: 'monitor unavailable' }) });
    renderWith(failing.services, <LimitsPage />);
    expect(await screen.findByText(/monitor unavailable/)).toBeInTheDocument();
  });
});
