// Small building blocks shared by the pages.
import type { ButtonHTMLAttributes, ReactNode } from 'react';

type Variant = 'default' | 'primary' | 'danger' | 'warning';

const VARIANTS: Record<Variant, string> = {
  default: 'border-slate-300 bg-white text-slate-700 hover:bg-slate-50',
  primary: 'border-blue-600 bg-blue-600 text-white hover:bg-blue-700',
  danger: 'border-red-300 bg-white text-red-700 hover:bg-red-50',
  warning: 'border-amber-300 bg-white text-amber-800 hover:bg-amber-50',
};

export function Button({
  variant = 'default',
  className = '',
  type = 'button',
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return (
    <button
      type={type}
      className={`inline-flex items-center justify-center gap-1 rounded-md border px-3 py-1.5 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500 focus-visible:ring-offset-1 disabled:cursor-not-allowed disabled:opacity-50 ${VARIANTS[variant]} ${className}`}
      {...props}
    />
  );
}

export function Card({
  title,
  actions,
  children,
  className = '',
  headingId,
}: {
  title: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  headingId?: string;
}) {
  return (
    <section
      aria-labelledby={headingId}
      className={`rounded-xl border border-slate-200 bg-white p-4 shadow-sm sm:p-6 ${className}`}
    >
      <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
        <h3 id={headingId} className="text-lg font-semibold text-slate-900">
          {title}
        </h3>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function Badge({ children, className = '' }: { children: ReactNode; className?: string }) {
  return (
    <span className={`inline-block rounded-full px-2.5 py-0.5 text-xs font-semibold ${className}`}>{children}</span>
  );
}

const STATE_COLORS: Record<string, string> = {
  PENDING: 'bg-amber-400 text-white',
  ACTIVE: 'bg-sky-500 text-white',
  COMPLETED: 'bg-green-600 text-white',
  FAILED: 'bg-orange-600 text-white',
  SCHEDULED: 'bg-violet-500 text-white',
  DLQ: 'bg-red-600 text-white',
  CANCELLED: 'bg-slate-600 text-white',
};

export function StatusBadge({ state }: { state: string }) {
  return <Badge className={STATE_COLORS[state] ?? 'bg-slate-400 text-white'}>{state || 'UNKNOWN'}</Badge>;
}

const TYPE_COLORS: Record<string, string> = {
  summarize: 'bg-blue-600 text-white',
  pdfxtract: 'bg-purple-600 text-white',
};

export function TypeBadge({ type }: { type: string }) {
  return <Badge className={TYPE_COLORS[type] ?? 'bg-slate-500 text-white'}>{type}</Badge>;
}

/** A badge for health-like words: healthy, stale, closed, open... */
export function HealthBadge({ value, label }: { value: string; label?: string }) {
  const good = ['healthy', 'closed', 'active', 'connected'];
  const bad = ['stale', 'open', 'unhealthy', 'error', 'api_key_invalid', 'credits_exhausted', 'offline'];
  const color = good.includes(value)
    ? 'bg-green-100 text-green-800'
    : bad.includes(value)
      ? 'bg-red-100 text-red-800'
      : 'bg-amber-100 text-amber-800';
  return <Badge className={color}>{label ?? value.replace(/_/g, ' ')}</Badge>;
}

export function ErrorMessage({ children }: { children: ReactNode }) {
  return (
    <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      {children}
    </p>
  );
}
