// An EventSource double: tests open it, send messages and fail it by hand.
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  readonly url: string;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent<string>) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  private readonly listeners = new Map<string, Set<(event: MessageEvent<string>) => void>>();

  constructor(url: string | URL) {
    this.url = String(url);
    FakeEventSource.instances.push(this);
  }

  static reset(): void {
    FakeEventSource.instances = [];
  }

  static last(): FakeEventSource {
    const source = FakeEventSource.instances[FakeEventSource.instances.length - 1];
    if (!source) throw new Error('no EventSource was opened');
    return source;
  }

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)?.add(listener);
  }

  removeEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.listeners.get(type)?.delete(listener);
  }

  close(): void {
    this.closed = true;
  }

  open(): void {
    this.onopen?.(new Event('open'));
  }

  /** Sends `data: <json>` (unnamed, so it reaches onmessage), or a named event. */
  send(data: unknown, name?: string): void {
    const event = new MessageEvent<string>(name ?? 'message', {
      data: typeof data === 'string' ? data : JSON.stringify(data),
    });
    if (name) for (const listener of this.listeners.get(name) ?? []) listener(event);
    else this.onmessage?.(event);
  }

  fail(): void {
    this.onerror?.(new Event('error'));
  }
}

export const asEventSource = FakeEventSource as unknown as typeof EventSource;
