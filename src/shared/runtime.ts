/**
 * What Deno and Bun do differently, for the service's runtime code: its name, the HTTP listener and a UDP socket's
 * receive buffer. Everything else the service uses (`node:` built-ins, web APIs) is the same on both; tests run on
 * Deno only.
 */

import type { Socket } from "node:dgram";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

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

/** Linux socket option numbers (asm-generic/socket.h). */
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;

/**
 * Asks for a receive buffer of `bytes` on a bound UDP socket, beyond `net.core.rmem_max` where the process may
 * (root); answers what the kernel granted (it reports twice the usable size), or undefined when it cannot tell.
 * Deno's `setRecvBufferSize` does not reach the socket, so there liverec finds the socket's descriptor in /proc (by
 * its port) and calls setsockopt through libc (Linux only).
 */
export function setUdpReceiveBuffer(socket: Socket, bytes: number): number | undefined {
  if (bun !== undefined) {
    socket.setRecvBufferSize(bytes);
    return socket.getRecvBufferSize();
  }
  const fd = udpSocketFd(socket.address().port);
  if (fd === undefined) return undefined;
  const libc = Deno.dlopen("libc.so.6", {
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  });
  try {
    const wanted = new Uint8Array(new Int32Array([bytes]).buffer);
    if (libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, wanted, 4) !== 0) {
      libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, wanted, 4);
    }
    const granted = new Int32Array(1);
    const length = new Uint32Array([4]);
    const read = libc.symbols.getsockopt(
      fd,
      SOL_SOCKET,
      SO_RCVBUF,
      new Uint8Array(granted.buffer),
      new Uint8Array(length.buffer),
    );
    return read === 0 ? granted[0] : undefined;
  } finally {
    libc.close();
  }
}

/** The descriptor of this process's IPv4 UDP socket bound to `port`, from /proc; undefined when there is none. */
function udpSocketFd(port: number): number | undefined {
  try {
    const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
    const rows = readFileSync("/proc/net/udp", "utf8").split("\n").slice(1).map((row) => row.trim().split(/\s+/));
    const inodes = new Set(rows.filter((fields) => fields[1]?.endsWith(hexPort)).map((fields) => fields[9]));
    for (const name of readdirSync("/proc/self/fd")) {
      const inode = /^socket:\[(\d+)\]$/.exec(linkOf(`/proc/self/fd/${name}`))?.[1];
      if (inode !== undefined && inodes.has(inode)) return Number(name);
    }
  } catch {
    // not Linux, or /proc not mounted
  }
  return undefined;
}

/** Where a symbolic link points; "" when it is gone (a descriptor closed meanwhile). */
function linkOf(path: string): string {
  try {
    return readlinkSync(path, "utf8");
  } catch {
    return "";
  }
}
