import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { testServices } from '../test/fakeGateway';
import { renderWith } from '../test/render';
import { CorruptBadge } from './CorruptBadge';

const STATUS = { queues: { primary: 0, retry: 0, scheduled: 0, dlq: 0 }, states: {}, retry_ratio: 0.3 };

describe('CorruptBadge', () => {
  it('links to the Queues page while ids are set aside as corrupt', async () => {
    const { services } = testServices({ 'GET /api/v1/queues/status': () => ({ ...STATUS, corrupt_tasks: 3 }) });
    renderWith(services, <CorruptBadge />);
    const badge = await screen.findByRole('link', { name: '3 tasks set aside as corrupt' });
    expect(badge).toHaveAttribute('href', '#/queues');
    expect(badge).toHaveTextContent('3 corrupt');
  });
});
