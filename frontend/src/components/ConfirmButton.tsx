// A button for a consequential action: it asks for confirmation, runs the action,
// and reports its outcome (e.g. how many tasks were affected) next to itself.
import { useState, type ReactNode } from 'react';
import { errorText } from '../format';
import { Modal } from './Modal';
import { Button } from './ui';

export interface Outcome {
  ok: boolean;
  text: string;
}

export interface ConfirmButtonProps {
  label: string;
  title: string;
  message: ReactNode;
  confirmLabel?: string;
  variant?: 'default' | 'primary' | 'danger' | 'warning';
  disabled?: boolean;
  /** Runs the action; the text it returns is shown as the result. */
  action: () => Promise<string>;
  onDone?: () => void;
  /** Show the result text next to the button (default true). */
  showResult?: boolean;
  /** Told the outcome, to show it elsewhere (with showResult false). */
  onOutcome?: (outcome: Outcome) => void;
  className?: string;
  ariaLabel?: string;
}

export function ConfirmButton({
  label,
  title,
  message,
  confirmLabel = label,
  variant = 'default',
  disabled,
  action,
  onDone,
  showResult = true,
  onOutcome,
  className,
  ariaLabel,
}: ConfirmButtonProps) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const report = (value: Outcome): void => {
    setOutcome(value);
    onOutcome?.(value);
  };

  const run = async (): Promise<void> => {
    setBusy(true);
    try {
      const text = await action();
      report({ ok: true, text });
      onDone?.();
    } catch (error) {
      report({ ok: false, text: errorText(error) });
    } finally {
      setBusy(false);
      setOpen(false);
    }
  };

  return (
    <span className={`inline-flex flex-wrap items-center gap-2 ${className ?? ''}`}>
      <Button
        variant={variant}
        disabled={disabled || busy}
        aria-label={ariaLabel}
        onClick={() => {
          setOutcome(null);
          setOpen(true);
        }}
      >
        {label}
      </Button>
      {showResult && outcome && (
        <span role={outcome.ok ? 'status' : 'alert'} className={`text-sm ${outcome.ok ? 'text-green-700' : 'text-red-700'}`}>
          {outcome.text}
        </span>
      )}
      {open && (
        <Modal title={title} onClose={() => !busy && setOpen(false)}>
          <div className="mb-5 text-sm text-slate-700">{message}</div>
          <div className="flex justify-end gap-2">
            <Button data-autofocus onClick={() => setOpen(false)} disabled={busy}>
              Cancel
            </Button>
            <Button variant={variant === 'default' ? 'primary' : variant} onClick={() => void run()} disabled={busy}>
              {busy ? 'Working…' : confirmLabel}
            </Button>
          </div>
        </Modal>
      )}
    </span>
  );
}
