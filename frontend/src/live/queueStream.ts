// The queue status stream (GET /api/v1/queues/status/stream): one EventSource,
// reconnected with exponential backoff; after any gap the snapshot is re-read so
// missed events cannot leave wrong counts behind.
import { ApiError, type ApiClient } from '../api/client';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { EVENT_TYPES, parseEvent } from './events';
import type { LiveStore } from './store';

export const STREAM_PATH = '/api/v1/queues/status/stream';

export interface QueueStreamOptions {
  client: ApiClient;
  store: LiveStore;
  EventSourceImpl?: typeof EventSource;
  backoff?: BackoffOptions;
  /** Reconnect when nothing (not even a heartbeat) came for this long. */
  silenceMs?: number;
  /** Failed attempts in a row after which the badge says offline. */
  offlineAfter?: number;
}

export class QueueStream {
  private source: EventSource | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private hadGap = false;
  private stopped = true;
  private readonly ES: typeof EventSource;

  constructor(private readonly options: QueueStreamOptions) {
    this.ES = options.EventSourceImpl ?? EventSource;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.refreshSnapshot();
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.closeSource();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Reconnects at once (e.g. after a token was entered or the browser came online). */
  reconnectNow(): void {
    if (this.stopped) return;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.closeSource();
    this.connect();
  }

  private connect(): void {
    const { client } = this.options;
    const source = new this.ES(client.streamUrl(STREAM_PATH));
    this.source = source;
    const onMessage = (message: MessageEvent<string>): void => this.onMessage(message);
    source.onopen = () => this.onOpen();
    source.onmessage = onMessage;
    for (const type of EVENT_TYPES) {
      if (type !== 'error') source.addEventListener(type, onMessage as EventListener);
    }
    // A named `event: error` message from the gateway arrives here too.
    source.onerror = (event) =>
      event instanceof MessageEvent && typeof event.data === 'string'
        ? this.onMessage(event as MessageEvent<string>)
        : this.onError();
    this.armSilenceTimer();
  }

  private onOpen(): void {
    this.attempt = 0;
    this.options.store.connection('connected');
    this.armSilenceTimer();
    if (this.hadGap) {
      this.hadGap = false;
      void this.refreshSnapshot();
    }
  }

  private onMessage(message: MessageEvent<string>): void {
    const event = parseEvent(message.data, message.type);
    this.armSilenceTimer();
    if (this.options.store.getState().connection !== 'connected') this.onOpen();
    if (!event) return;
    this.options.store.push(event);
    // A quiet stream is a good moment to make sure the counts are exact.
    if (event.type === 'heartbeat') void this.refreshSnapshot();
  }

  private onError(): void {
    if (this.stopped) return;
    this.closeSource();
    this.hadGap = true;
    const offlineAfter = this.options.offlineAfter ?? 3;
    const offline = this.attempt >= offlineAfter || (typeof navigator !== 'undefined' && navigator.onLine === false);
    this.options.store.connection(offline ? 'offline' : 'reconnecting');
    const delay = backoffDelay(this.attempt, this.options.backoff ?? DEFAULT_BACKOFF);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
    // An EventSource cannot tell why it failed; a plain GET can (and may ask for a token).
    void this.refreshSnapshot();
  }

  private async refreshSnapshot(): Promise<void> {
    const { store } = this.options;
    const token = store.snapshotToken();
    try {
      const status = await this.options.client.queueStatus();
      if (!this.stopped) store.snapshot(status, token);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
    }
  }

  private armSilenceTimer(): void {
    if (this.silenceTimer !== null) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => this.onError(), this.options.silenceMs ?? 75_000);
  }

  private closeSource(): void {
    if (this.silenceTimer !== null) clearTimeout(this.silenceTimer);
    this.silenceTimer = null;
    if (this.source) {
      this.source.onopen = null;
      this.source.onmessage = null;
      this.source.onerror = null;
      this.source.close();
      this.source = null;
    }
  }
}
