// gRPC transports (HTTP/2) to the services, with the bearer token when one is set.
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

/** How to reach a service. */
export interface ConnectionOptions {
  /** The services' TASKFLOW_API_TOKEN, if they have one. */
  token?: string;
}

/** "host:port" or a URL ("http://host:port", "https://host:port" for TLS). */
export function baseUrl(address: string): string {
  return /^https?:\/\//.test(address) ? address : `http://${address}`;
}

export function transportTo(address: string, options: ConnectionOptions = {}): Transport {
  const interceptors: Interceptor[] = [];
  const token = options.token;
  if (token) {
    interceptors.push((next) => async (request) => {
      request.header.set("authorization", `Bearer ${token}`);
      return next(request);
    });
  }
  return createGrpcTransport({ baseUrl: baseUrl(address), interceptors });
}
