// A fetch double answering like the gateway: routes are "METHOD /path" and get the
// request; the calls are recorded for assertions.
import { ApiClient } from '../api/client';
import { memoryTokenStore } from '../api/token';
import { LiveStore } from '../live/store';
import type { Services } from '../services';

export interface Call {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: unknown;
}

type Handler = (call: Call) => unknown;

export function json(status: number, body: unknown): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

export function fakeGateway(routes: Record<string, Handler>) {
  const calls: Call[] = [];
  const fetchImpl = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input), 'http://gateway.test');
    const method = (init.method ?? 'GET').toUpperCase();
    const body =
      typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : init.body instanceof FormData ? init.body : undefined;
    const call: Call = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: (init.headers ?? {}) as Record<string, string>,
      body,
    };
    calls.push(call);
    const handler = routes[`${method} ${url.pathname}`];
    if (!handler) return json(404, { detail: `no route ${method} ${url.pathname}` });
    const result = handler(call);
    return result instanceof Response ? result : json(200, result);
  };
  return { calls, fetch: fetchImpl as typeof fetch };
}

export function testServices(routes: Record<string, Handler>, token: string | null = null) {
  const gateway = fakeGateway(routes);
  const client = new ApiClient({ fetch: gateway.fetch, tokens: memoryTokenStore(token) });
  const store = new LiveStore(0);
  const services: Services = { client, store };
  return { ...gateway, client, store, services };
}
