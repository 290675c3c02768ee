// Says so, on every page, while claiming is paused cluster-wide, with the control
// to resume. Pausing is in Worker Statistics; it announces the change so this
// banner shows at once rather than at its next poll.
import { useEffect, useState } from 'react';
import { errorText } from '../format';
import { useServices } from '../services';
import { usePolling } from '../usePolling';
import { Button, ErrorMessage } from './ui';

export const PAUSE_CHANGED = 'taskflow:pause-changed';

export function announcePauseChange(): void {
  window.dispatchEvent(new Event(PAUSE_CHANGED));
}

export function PauseBanner() {
  const { client } = useServices();
  const { data: paused, reload } = usePolling((signal) => client.executorsPaused(signal), 3000);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    window.addEventListener(PAUSE_CHANGED, reload);
    return () => window.removeEventListener(PAUSE_CHANGED, reload);
  }, [reload]);

  if (!paused) return null;
  const resume = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await client.resumeExecutors();
      announcePauseChange();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div
      role="alert"
      aria-label="Executors paused"
      className="mb-4 flex flex-wrap items-center justify-between gap-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900"
    >
      <span>
        <strong>Executors paused:</strong> running tasks finish, nothing new is claimed; queued tasks wait.
      </span>
      <Button variant="primary" disabled={busy} onClick={() => void resume()}>
        Resume
      </Button>
      {error && <ErrorMessage>{error}</ErrorMessage>}
    </div>
  );
}
