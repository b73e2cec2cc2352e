/**
 * The receive low-water mark (`SO_RCVLOWAT`) of a `node:net` TCP socket. A runtime wakes up whenever bytes reach a
 * socket it reads, and on a small or virtual machine a wake-up costs more than the bytes it brings (about 300 µs of
 * CPU on the 2-core test VM; a publisher's TCP segments come tens of times a second). With a mark of N bytes, Linux
 * tells the process only once N bytes wait or the peer has closed, so a steady stream comes in reads of about N.
 * Neither runtime's `node:net` offers the option: it is set through libc on the socket's file descriptor.
 */

import { readdirSync } from "node:fs";
import type { Socket } from "node:net";
import { type Libc, SOL_SOCKET } from "./libc.ts";

/** `SO_RCVLOWAT` (asm-generic/socket.h). */
const SO_RCVLOWAT = 18;
/** Address families (sys/socket.h) and the size of a `sockaddr_in6`, the larger of the two. */
const AF_INET = 2;
const AF_INET6 = 10;
const SOCKADDR_STORAGE_BYTES = 28;

/**
 * Sets the mark of a socket: at least 1 byte. Lowering it also tells the process of bytes already waiting that reach
 * the new mark, which the runtime then reads; raising it again before that read would hold them back again (epoll
 * checks the mark when it reports). False once the socket is destroyed (its descriptor may then be another file's)
 * or when the kernel refuses.
 */
export type SetLowWater = (bytes: number) => boolean;

/**
 * The mark setter of a connected socket, or undefined when it cannot be had: no libc, or no descriptor found for
 * the socket.
 */
export function receiveLowWater(libc: Libc | undefined, socket: Socket): SetLowWater | undefined {
  const fd = libc === undefined ? undefined : fdOf(libc, socket);
  if (libc === undefined || fd === undefined) return undefined;
  const value = new Int32Array(1);
  const bytes = new Uint8Array(value.buffer);
  return (mark) => {
    if (socket.destroyed) return false;
    value[0] = Math.max(1, Math.round(mark));
    return libc.setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, bytes, 4) === 0;
  };
}

/**
 * The file descriptor of a connected socket. Bun's handle has it; Deno's does not, so it is the one open descriptor
 * whose local and peer addresses are the socket's. (Reading /proc/net/tcp instead took 10-15 ms of system time per
 * connection on the test VM: the kernel walks its whole connection table.)
 */
function fdOf(libc: Libc, socket: Socket): number | undefined {
  const handleFd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof handleFd === "number" && handleFd >= 0) return handleFd;
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (localPort === undefined || remotePort === undefined) return undefined;
  const local = endpointKey(localAddress, localPort);
  const remote = endpointKey(remoteAddress, remotePort);
  const address = new Uint8Array(SOCKADDR_STORAGE_BYTES);
  const length = new Uint32Array(1);
  const lengthBytes = new Uint8Array(length.buffer);
  const endpointOf = (call: Libc["getpeername"], fd: number) => {
    length[0] = SOCKADDR_STORAGE_BYTES;
    return call(fd, address, lengthBytes) === 0 ? sockaddrKey(address) : undefined;
  };
  const found: number[] = [];
  try {
    for (const name of readdirSync("/proc/self/fd")) {
      const fd = Number(name);
      if (endpointOf(libc.getpeername, fd) === remote && endpointOf(libc.getsockname, fd) === local) found.push(fd);
    }
  } catch {
    // No /proc.
  }
  return found.length === 1 ? found[0] : undefined;
}

/**
 * An endpoint as `sockaddrKey` writes it, from a `node:net` address and port: an IPv4 address (also IPv4-mapped
 * IPv6) with its port, any other address as its port alone (the descriptor must then be the only match).
 */
function endpointKey(address: string | undefined, port: number): string {
  const ipv4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address ?? "")?.[1];
  return ipv4 === undefined ? `[v6]:${port}` : `${ipv4}:${port}`;
}

/** The endpoint in a `sockaddr_in` or `sockaddr_in6` (family in host order, then the port in network order). */
export function sockaddrKey(address: Uint8Array): string | undefined {
  const view = new DataView(address.buffer, address.byteOffset, address.byteLength);
  const port = view.getUint16(2, false);
  const family = view.getUint16(0, true);
  if (family === AF_INET) return `${address.subarray(4, 8).join(".")}:${port}`;
  if (family !== AF_INET6) return undefined;
  const mapped = address.subarray(8, 18).every((byte) => byte === 0) && view.getUint16(18) === 0xffff;
  return mapped ? `${address.subarray(20, 24).join(".")}:${port}` : `[v6]:${port}`;
}
