// The shell: header, tabs, connection badge, the token prompt, and the page of the
// current hash route (#/dashboard, #/history, #/cleanup, #/new, #/schedules,
// #/workers, #/queues, #/limits).
import { useCallback, useEffect, useRef, useState } from 'react';
import { ConnectionBadge } from './components/ConnectionBadge';
import { CorruptBadge } from './components/CorruptBadge';
import { PauseBanner } from './components/PauseBanner';
import { TokenDialog } from './components/TokenDialog';
import { Button } from './components/ui';
import { formatClock } from './format';
import { useLiveState } from './live/store';
import { DashboardPage } from './pages/DashboardPage';
import { LimitsPage } from './pages/LimitsPage';
import { NewTaskPage } from './pages/NewTaskPage';
import { QueuesPage } from './pages/QueuesPage';
import { SchedulesPage } from './pages/SchedulesPage';
import { TasksCleanupPage } from './pages/TasksCleanupPage';
import { TasksHistoryPage } from './pages/TasksHistoryPage';
import { WorkersPage } from './pages/WorkersPage';
import { ServicesContext, type Services } from './services';
import type { QueueStream } from './live/queueStream';

export const TABS = [
  { id: 'dashboard', label: 'Dashboard' },
  { id: 'history', label: 'Tasks History' },
  { id: 'cleanup', label: 'Tasks Cleanup' },
  { id: 'new', label: 'New Task' },
  { id: 'workers', label: 'Workers' },
  { id: 'queues', label: 'Queues' },
  { id: 'schedules', label: 'Schedules' },
  { id: 'limits', label: 'Limits' },
] as const;
type TabId = (typeof TABS)[number]['id'];

export interface Route {
  tab: TabId;
  params: URLSearchParams;
  /** Counts navigations (hashchange events): a page keyed on it starts afresh from
   * the URL on each, even when it is the same one. */
  visit?: number;
}

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const tab = TABS.find((t) => t.id === path)?.id ?? 'dashboard';
  return { tab, params: new URLSearchParams(query) };
}

function useRoute(): Route {
  const [location, setLocation] = useState(() => ({ hash: window.location.hash, visit: 0 }));
  useEffect(() => {
    const onChange = (): void => setLocation((current) => ({ hash: window.location.hash, visit: current.visit + 1 }));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return { ...parseRoute(location.hash), visit: location.visit };
}

export function App({ services, stream }: { services: Services; stream?: QueueStream }) {
  const route = useRoute();
  const live = useLiveState(services.store);
  const [askToken, setAskToken] = useState<((token: string | null) => void) | null>(null);
  // Once the user declined, 401s do not prompt again until they ask to.
  const [declined, setDeclinedState] = useState(false);
  const declinedRef = useRef(false);
  const setDeclined = (value: boolean): void => {
    declinedRef.current = value;
    setDeclinedState(value);
  };

  useEffect(() => {
    services.client.setTokenPrompt(() =>
      declinedRef.current ? Promise.resolve(null) : new Promise((resolve) => setAskToken(() => resolve)),
    );
    return () => services.client.setTokenPrompt(null);
  }, [services.client]);

  useEffect(() => {
    if (!stream) return;
    stream.start();
    const online = (): void => stream.reconnectNow();
    window.addEventListener('online', online);
    return () => {
      window.removeEventListener('online', online);
      stream.stop();
    };
  }, [stream]);

  const answerToken = useCallback(
    (token: string | null) => {
      if (token) services.client.tokens.set(token);
      askToken?.(token);
      setAskToken(null);
      setDeclined(token === null);
      if (token) stream?.reconnectNow();
    },
    // setDeclined only touches a ref and state setters.
    [askToken, stream, services.client],
  );

  const tab = TABS.find((t) => t.id === route.tab) ?? TABS[0];

  return (
    <ServicesContext.Provider value={services}>
      {/* The hash is the route, so the link moves focus itself instead of going to #main. */}
      <a
        href="#main"
        onClick={(event) => {
          event.preventDefault();
          document.getElementById('main')?.focus();
        }}
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto max-w-7xl px-4 pt-5 sm:px-6">
          <h1 className="text-2xl font-bold text-slate-900">
            AsyncTaskFlow<span className="sr-only"> — </span>
            <span className="block text-sm font-normal text-slate-600">Real-time Task Processing Dashboard</span>
          </h1>
          <nav aria-label="Pages" className="-mb-px mt-4 flex flex-wrap gap-x-1 sm:flex-nowrap">
            {TABS.map((t) => (
              <a
                key={t.id}
                href={`#/${t.id}`}
                aria-current={t.id === route.tab ? 'page' : undefined}
                className={`whitespace-nowrap border-b-2 px-2 py-2.5 text-sm sm:px-3 font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-blue-500 ${
                  t.id === route.tab
                    ? 'border-blue-600 text-blue-700'
                    : 'border-transparent text-slate-600 hover:border-slate-300 hover:text-slate-800'
                }`}
              >
                {t.label}
              </a>
            ))}
          </nav>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto max-w-7xl px-4 py-6 focus:outline-none sm:px-6">
        <div className="mb-5 flex flex-wrap items-center justify-between gap-3">
          <div className="flex flex-wrap items-center gap-3">
            <h2 className="text-2xl font-bold text-slate-900">{tab.label}</h2>
            <ConnectionBadge connection={live.connection} />
            <CorruptBadge />
          </div>
          <div className="text-right">
            <div className="text-xs text-slate-500">Last updated</div>
            <div className="font-mono text-sm text-slate-800" data-testid="last-updated">
              {formatClock(live.lastUpdated)}
            </div>
          </div>
        </div>
        <PauseBanner />
        {declined && (
          <div role="alert" className="mb-4 flex flex-wrap items-center justify-between gap-2 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
            The gateway needs an access token.
            <Button
              onClick={() => {
                setDeclined(false);
                void services.client.requestToken().then((token) => token && stream?.reconnectNow());
              }}
            >
              Enter token
            </Button>
          </div>
        )}
        {/* The pages are memo'd: this shell re-renders on every live update (badge,
            clock), which must not re-render a whole page each time. */}
        {route.tab === 'dashboard' && <DashboardPage />}
        {route.tab === 'history' && (
          <TasksHistoryPage key={route.visit} query={route.params.toString()} />
        )}
        {route.tab === 'cleanup' && <TasksCleanupPage />}
        {route.tab === 'schedules' && <SchedulesPage />}
        {route.tab === 'limits' && <LimitsPage />}
        {route.tab === 'new' && <NewTaskPage />}
        {route.tab === 'workers' && <WorkersPage workerId={route.params.get('id') ?? ''} />}
        {route.tab === 'queues' && <QueuesPage />}
      </main>
      {askToken && <TokenDialog onSubmit={answerToken} />}
    </ServicesContext.Provider>
  );
}
