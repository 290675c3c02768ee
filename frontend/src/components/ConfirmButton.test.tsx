import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ConfirmButton } from './ConfirmButton';

describe('ConfirmButton', () => {
  it('does nothing until confirmed, and Escape cancels', async () => {
    const user = userEvent.setup();
    const action = vi.fn(() => Promise.resolve('done'));
    render(<ConfirmButton label="Purge DLQ" title="Purge the DLQ?" message="Gone for good." action={action} />);
    await user.click(screen.getByRole('button', { name: 'Purge DLQ' }));
    const dialog = screen.getByRole('dialog', { name: 'Purge the DLQ?' });
    expect(dialog).toHaveTextContent('Gone for good.');
    expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Purge DLQ' })).toHaveFocus();
    await user.click(screen.getByRole('button', { name: 'Purge DLQ' }));
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(action).not.toHaveBeenCalled();
  });

  it('runs the action on confirm and shows its result', async () => {
    const user = userEvent.setup();
    const onDone = vi.fn();
    render(
      <ConfirmButton label="Purge DLQ" title="Purge?" message="Sure?" confirmLabel="Purge" action={() => Promise.resolve('Purged 7 tasks.')} onDone={onDone} />,
    );
    await user.click(screen.getByRole('button', { name: 'Purge DLQ' }));
    await user.click(screen.getByRole('button', { name: 'Purge' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Purged 7 tasks.');
    expect(onDone).toHaveBeenCalledOnce();
  });

  it('shows the error when the action fails', async () => {
    const user = userEvent.setup();
    render(<ConfirmButton label="Go" title="Go?" message="?" confirmLabel="Yes" action={() => Promise.reject(new Error('Gateway said no'))} />);
    await user.click(screen.getByRole('button', { name: 'Go' }));
    await user.click(screen.getByRole('button', { name: 'Yes' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Gateway said no');
  });
});
