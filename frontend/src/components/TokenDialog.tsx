// Asks for the gateway's bearer token after a 401; the client keeps it for the session.
import { useState, type FormEvent } from 'react';
import { Modal } from './Modal';
import { Button } from './ui';

export function TokenDialog({ onSubmit }: { onSubmit: (token: string | null) => void }) {
  const [token, setToken] = useState('');
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    onSubmit(token.trim() || null);
  };
  return (
    <Modal title="Access token required" onClose={() => onSubmit(null)}>
      <form onSubmit={submit}>
        <p className="mb-3 text-sm text-slate-700">
          The gateway asks for a token. It is kept for this browser session only.
        </p>
        <label htmlFor="api-token" className="mb-1 block text-sm font-medium text-slate-700">
          Token
        </label>
        <input
          id="api-token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(event) => setToken(event.target.value)}
          className="mb-4 w-full rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-blue-500 focus:outline-none focus:ring-2 focus:ring-blue-500"
        />
        <div className="flex justify-end gap-2">
          <Button onClick={() => onSubmit(null)}>Cancel</Button>
          <Button type="submit" variant="primary" disabled={!token.trim()}>
            Use token
          </Button>
        </div>
      </form>
    </Modal>
  );
}
