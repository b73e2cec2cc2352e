/**
 * What Deno and Bun do differently, for the service's runtime code: its name and the HTTP listener (the UDP socket is
 * udp_socket.ts). Everything else the service uses (`node:` built-ins, web APIs) is the same on both; tests run on
 * Deno only.
 */

/** The part of Bun's global that liverec uses (declared here, since the type checker runs on Deno). */
interface Bun {
  version: string;
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout: number;
    fetch: (request: Request) => Response | Promise<Response>;
  }): { hostname: string; port: number; stop(closeActiveConnections?: boolean): Promise<void> };
}

const bun = (globalThis as { Bun?: Bun }).Bun;

/** Whether this is Bun (else Deno). */
export const isBun: boolean = bun !== undefined;

/** The runtime and its version, e.g. "Deno 2.9.6" or "Bun 1.4.5". */
export const runtimeName: string = bun !== undefined ? `Bun ${bun.version}` : `Deno ${Deno.version.deno}`;

/** A listening address; IPv6 hostnames are bare ("::"). */
export interface ListenAddress {
  hostname: string;
  port: number;
}

/** A listening HTTP server. */
export interface HttpServer {
  /** Where it listens (the port the system chose when 0 was asked for). */
  readonly address: ListenAddress;
  /** Stops listening and waits for requests in flight. */
  shutdown(): Promise<void>;
}

/** Seconds a keep-alive connection may sit idle before Bun closes it (Deno has no such limit). */
const BUN_IDLE_TIMEOUT_S = 120;

/** Serves `fetch` on `listen`; throws at once (code EADDRINUSE, EACCES...) when the address cannot be bound. */
export function serveHttp(
  listen: ListenAddress,
  fetch: (request: Request) => Response | Promise<Response>,
): HttpServer {
  if (bun !== undefined) {
    const server = bun.serve({ ...listen, idleTimeout: BUN_IDLE_TIMEOUT_S, fetch });
    return { address: { hostname: server.hostname, port: server.port }, shutdown: () => server.stop() };
  }
  const server = Deno.serve({ ...listen, onListen: () => {} }, fetch);
  return { address: { hostname: server.addr.hostname, port: server.addr.port }, shutdown: () => server.shutdown() };
}
