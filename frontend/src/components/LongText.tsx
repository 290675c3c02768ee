// Text that may be huge: only the start is rendered until the reader asks for all.
import { useId, useState } from 'react';

export function LongText({ text, limit = 600, mono = false }: { text: string; limit?: number; mono?: boolean }) {
  const [expanded, setExpanded] = useState(false);
  const id = useId();
  const long = text.length > limit;
  const shown = expanded || !long ? text : `${text.slice(0, limit)}…`;
  return (
    <div>
      <pre
        id={id}
        className={`max-h-[32rem] overflow-auto whitespace-pre-wrap break-words rounded-md border border-slate-200 bg-white p-3 text-sm text-slate-800 ${
          mono ? 'font-mono' : 'font-sans'
        }`}
      >
        {shown}
      </pre>
      {long && (
        <button
          type="button"
          aria-expanded={expanded}
          aria-controls={id}
          onClick={() => setExpanded((value) => !value)}
          className="mt-1 text-sm font-medium text-blue-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500"
        >
          {expanded ? 'Show less' : `Show all (${text.length.toLocaleString()} characters)`}
        </button>
      )}
    </div>
  );
}
