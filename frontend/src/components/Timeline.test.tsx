import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ErrorTimeline, StateTimeline } from './Timeline';

const TRACEBACK = [
  'Traceback (most recent call last):',
  '  File "tasks.py", line 62, in lookup',
  '    return table[ctx.content]',
  "KeyError: 'missing'",
].join('\n');

describe('ErrorTimeline', () => {
  it('shows the class and traceback of an unexpected exception', async () => {
    const user = userEvent.setup();
    render(
      <ErrorTimeline
        history={[
          { timestamp: '2025-07-21T16:22:30Z', error: "KeyError: 'missing'", error_type: 'Default', retry_count: 0, state_transition: 'ACTIVE -> SCHEDULED', exception: 'KeyError', traceback: TRACEBACK },
          { timestamp: '2025-07-21T16:22:40Z', error: 'HTTP 400 from provider', error_type: 'PermanentError', retry_count: 1, state_transition: 'ACTIVE -> DLQ' },
        ]}
      />,
    );
    const [crash, classified] = within(screen.getByRole('list', { name: 'Error history' })).getAllByRole('listitem');
    expect(crash).toHaveTextContent('Default');
    await user.click(within(crash as HTMLElement).getByText('Traceback (KeyError)'));
    expect(within(crash as HTMLElement).getByText(/return table\[ctx.content\]/)).toBeVisible();
    expect(classified).not.toHaveTextContent('Traceback');
  });
});

describe('StateTimeline', () => {
  it('says why a task was held back', () => {
    render(
      <StateTimeline
        history={[
          { state: 'ACTIVE', timestamp: '2025-07-21T16:22:27Z' },
          { state: 'SCHEDULED', timestamp: '2025-07-21T16:22:30Z', reason: 'circuit breaker for openrouter opened while the call waited to be sent' },
        ]}
      />,
    );
    expect(screen.getByText(/held back: circuit breaker for openrouter opened/)).toBeInTheDocument();
  });
});
