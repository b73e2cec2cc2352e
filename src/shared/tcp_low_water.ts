/**
 * The receive low-water mark (`SO_RCVLOWAT`) of a `node:net` TCP socket. A runtime wakes up whenever bytes reach a
 * socket it reads, and on a small or virtual machine a wake-up costs more than the bytes it brings (about 300 µs of
 * CPU on the 2-core test VM; a publisher's TCP segments come tens of times a second). With a mark of N bytes, Linux
 * tells the process only once N bytes wait or the peer has closed, so a steady stream comes in reads of about N.
 * Neither runtime's `node:net` offers the option: it is set through libc on the socket's file descriptor.
 */

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { Socket } from "node:net";
import { type Libc, SOL_SOCKET } from "./libc.ts";

/** `SO_RCVLOWAT` (asm-generic/socket.h). */
const SO_RCVLOWAT = 18;
/** The state column of /proc/net/tcp for an established connection. */
const TCP_ESTABLISHED = "01";

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
  const fd = libc === undefined ? undefined : fdOf(socket);
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
 * The file descriptor of a connected socket. Bun's handle has it; Deno's does not, so it is found through /proc: the
 * one established connection between the socket's local and remote ports, then the descriptor that links to it.
 */
function fdOf(socket: Socket): number | undefined {
  const handleFd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof handleFd === "number" && handleFd >= 0) return handleFd;
  const { localPort, remotePort } = socket;
  if (localPort === undefined || remotePort === undefined) return undefined;
  try {
    const inodes = ["/proc/self/net/tcp", "/proc/self/net/tcp6"].flatMap((table) =>
      connectionInodes(readFileSync(table, "utf8"), localPort, remotePort)
    );
    if (inodes.length !== 1) return undefined;
    const link = `socket:[${inodes[0]}]`;
    for (const name of readdirSync("/proc/self/fd")) {
      try {
        if (readlinkSync(`/proc/self/fd/${name}`) === link) return Number(name);
      } catch {
        // A descriptor closed while the folder was read.
      }
    }
  } catch {
    // No /proc.
  }
  return undefined;
}

/**
 * The inodes of the established connections from `localPort` to `remotePort` in a /proc/net/tcp or tcp6 table
 * (columns: slot, local address:port, remote address:port, state, queues, timer, retransmits, uid, timeout, inode;
 * ports in hexadecimal).
 */
export function connectionInodes(table: string, localPort: number, remotePort: number): string[] {
  const port = (endpoint: string | undefined) => parseInt(endpoint?.split(":")[1] ?? "", 16);
  return table.split("\n").slice(1).map((line) => line.trim().split(/\s+/)).filter((columns) =>
    port(columns[1]) === localPort && port(columns[2]) === remotePort && columns[3] === TCP_ESTABLISHED
  ).map((columns) => columns[9] ?? "");
}
