// Holds the live state outside React and coalesces stream events: events are
// buffered and reduced together at most once per `flushMs`, so React renders a
// few times per second however fast the stream is.
import { useSyncExternalStore } from 'react';
import type { QueueStatus } from '../api/types';
import type { LiveEvent } from './events';
import { initialLiveState, liveReducer, taskChanges, type Connection, type LiveState, type TaskChange } from './reducer';

type Listener = () => void;
type TaskListener = (changes: TaskChange[]) => void;

export class LiveStore {
  private state: LiveState;
  private buffer: LiveEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastFlush = 0;
  /** Bumped by every event that carries full counts (queue depths and state counts). */
  private exactCounts = 0;
  private readonly listeners = new Set<Listener>();
  private readonly taskListeners = new Set<TaskListener>();

  constructor(
    private readonly flushMs = 250,
    private readonly now: () => number = Date.now,
  ) {
    this.state = initialLiveState(now());
  }

  getState = (): LiveState => this.state;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Called with each batch of task changes (for tables that show tasks). */
  onTaskChanges(listener: TaskListener): () => void {
    this.taskListeners.add(listener);
    return () => this.taskListeners.delete(listener);
  }

  push(event: LiveEvent): void {
    this.buffer.push(event);
    if ('queues' in event && event.queues && event.states) this.exactCounts += 1;
    if (this.timer !== null) return;
    const wait = Math.max(0, this.lastFlush + this.flushMs - this.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  /** A token to pass to `snapshot` for a snapshot requested now. */
  snapshotToken(): number {
    return this.exactCounts;
  }

  /**
   * Applies a snapshot; with `token` (from snapshotToken() before the request),
   * only if no event with exact counts arrived meanwhile (those are newer).
   */
  snapshot(status: QueueStatus, token?: number): void {
    if (token !== undefined && token !== this.exactCounts) return;
    this.flush();
    this.set(liveReducer(this.state, { type: 'snapshot', status, now: this.now() }));
  }

  connection(connection: Connection): void {
    this.set(liveReducer(this.state, { type: 'connection', connection }));
  }

  /** Applies buffered events now. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.lastFlush = this.now();
    if (!this.buffer.length) return;
    const events = this.buffer;
    this.buffer = [];
    this.set(liveReducer(this.state, { type: 'events', events, now: this.lastFlush }));
    const changes = taskChanges(events);
    if (changes.length) for (const listener of this.taskListeners) listener(changes);
  }

  dispose(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.buffer = [];
  }

  private set(next: LiveState): void {
    if (next === this.state) return;
    this.state = next;
    for (const listener of this.listeners) listener();
  }
}

export function useLiveState(store: LiveStore): LiveState {
  return useSyncExternalStore(store.subscribe, store.getState);
}
