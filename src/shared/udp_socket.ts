/**
 * The UDP socket behind liverec's WebRTC port. Receiving is where a runtime spends most per packet: Deno wakes its
 * event loop once per datagram (about 60 µs each, measured on the 2-core machine; 1.2 CPU-seconds per media-minute
 * of one 2.5 Mbit/s stream before anything reads a byte). So, on Linux, liverec owns the socket through libc
 * and takes every queued datagram in one go, `POLL_INTERVAL_MS` apart (sooner under load): one wake-up per poll
 * whatever the number of streams, and a few µs per datagram. Bun (28 µs a datagram through its `node:dgram`) does the
 * same through `bun:ffi`. Without libc (not Linux, or Deno without the FFI permission) it is a `node:dgram` socket.
 */

import { createSocket } from "node:dgram";
import { atNextGridPoint, type GridTimer } from "./aligned_timer.ts";
import { type Libc, openLibc, SOL_SOCKET } from "./libc.ts";
import { isBun } from "./runtime.ts";

/**
 * Milliseconds between two polls of the socket while it is active. Each poll wakes a sleeping process, and on a small
 * or virtual machine a wake-up costs far more than the datagrams it takes (about 300 µs of CPU on the 2-core test VM,
 * against a few µs a datagram), so a light load is polled seldom: a recording can afford 200 ms of latency, and NACKs
 * still come in time for a retransmission to reach the recording's 1 s wait. At 1 WHIP stream, polls every 200 ms
 * rather than 100 took the service's wake-ups from 32 to 20 a second and its CPU by about a fifth.
 */
export const POLL_INTERVAL_MS = 200;
/** Milliseconds to the next poll once a poll has filled a quarter of the receive buffer. */
const BUSY_POLL_INTERVAL_MS = 5;
/**
 * What a datagram of up to 1,500 bytes takes of the receive buffer (its kernel "truesize": the data rounded up to a
 * 4 KiB slab plus the skb's own structures), for how many datagrams the buffer holds.
 */
const DATAGRAM_TRUESIZE_BYTES = 4_608;
/** Datagrams in one poll from which the next comes sooner when the buffer's size is unknown (the kernel default's ¼). */
const DEFAULT_BUSY_DATAGRAMS = 24;
/**
 * Datagrams handed on in one turn of the event loop at most, so that a backlog cannot hold it: the socket is drained
 * again and the rest handed on in the next turn.
 */
const MAX_DATAGRAMS_PER_TURN = 512;
/**
 * Bytes of datagrams taken from the socket but not yet handed on, at most. The kernel counts about 4.6 KiB against
 * its receive buffer for an MTU-sized datagram, so its 16 MiB hold under half a second of 24 WHIP streams; taken out
 * as soon as a poll comes, the same datagrams wait here at their own size, and a burst of work on the event loop
 * (24 DTLS handshakes at once, with werift loading) loses none of them. Beyond this the socket keeps them.
 */
const MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/**
 * A datagram handed on: `data` is the receiver's own copy (a view of memory that is never reused), `arrivalMs` when
 * it arrived (Unix ms: the kernel's receive time where the socket is polled, so that a batch does not blur arrival
 * times by the poll interval). A promise returned holds the next datagram back until it settles, for a receiver whose
 * handling of one datagram goes on in promise chains that the next depends on (a socket that wakes per datagram gives
 * those chains a turn between datagrams; a batch does not).
 */
export type OnDatagram = (data: Uint8Array, host: string, port: number, arrivalMs: number) => Promise<void> | undefined;

/** Told of a datagram whose handling threw; receiving goes on. */
export type OnDatagramError = (error: unknown, host: string, port: number) => void;

/** A bound IPv4 UDP socket. */
export interface UdpSocket {
  /** Where it is bound (the port the system chose when 0 was asked for). */
  readonly address: { address: string; port: number; family: "IPv4" };
  /** The receive buffer the kernel granted (it reports twice the usable bytes), or undefined when unknown. */
  readonly receiveBufferBytes: number | undefined;
  /** How datagrams are received, for the log: "libc, polled every 200 ms" or "node:dgram". */
  readonly receivePath: string;
  /** Sends one datagram; one the kernel cannot take at once is dropped, as UDP may. */
  send(data: Uint8Array, port: number, host: string): void;
  /** Whether to take datagrams: a polled socket costs a wake-up per poll, so it polls only while someone listens. */
  setActive(active: boolean): void;
  /** Hands on every datagram waiting in the socket now, without waiting for the next poll. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** An error with the errno name Node gives (`code`), so that callers tell EADDRINUSE from EACCES as with node:dgram. */
class SocketError extends Error {
  constructor(call: string, readonly code: string) {
    super(`${call}: ${code}`);
  }
}

/**
 * Binds `hostname:port` (IPv4; port 0: one the system picks) and asks for a receive buffer of `receiveBufferBytes`;
 * rejects with the bind error (its `code`: EADDRINUSE, EACCES...). A datagram whose handling throws is reported to
 * `onError`, and the next one is received as usual.
 */
export async function openUdpSocket(
  listen: { hostname: string; port: number },
  receiveBufferBytes: number,
  onDatagram: OnDatagram,
  onError: OnDatagramError,
): Promise<UdpSocket> {
  const ip = ipv4Bytes(listen.hostname);
  const libc = ip === undefined ? undefined : await openLibc();
  if (ip !== undefined && libc !== undefined) {
    return PolledSocket.open(libc, ip, listen.port, receiveBufferBytes, onDatagram, onError);
  }
  return await openDgramSocket(listen, receiveBufferBytes, onDatagram, onError);
}

/** The four bytes of a dotted-quad IPv4 address; undefined for anything else. */
function ipv4Bytes(hostname: string): number[] | undefined {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname)?.slice(1).map(Number);
  return parts !== undefined && parts.every((part) => part <= 255) ? parts : undefined;
}

/** Linux constants (asm-generic/socket.h, bits/socket.h, errno.h). */
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SO_TIMESTAMPNS = 35;
const MSG_DONTWAIT = 0x40;
const SOCKADDR_IN_BYTES = 16;
const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  13: "EACCES",
  22: "EINVAL",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
};

/**
 * Datagrams one recvmmsg call takes at most, and the room for each: the largest UDP payload, since on loopback a
 * publisher may send far beyond the MTU (H.264 packetization-mode 0 puts a whole slice in one packet). Only the pages
 * a datagram touches become resident, so 64 slots of 64 KiB cost about 64 pages for MTU-sized datagrams.
 */
const BATCH_SLOTS = 64;
const SLOT_BYTES = 65_536;
/** struct mmsghdr and struct iovec on 64-bit Linux (x64 and arm64): their sizes and the offsets liverec uses. */
const MMSGHDR_BYTES = 64;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_LEN = 56;
const IOVEC_BYTES = 16;
/**
 * Room for one control message per datagram: the SO_TIMESTAMPNS one is a struct cmsghdr (length, level, type: 16
 * bytes) and a struct timespec (seconds, nanoseconds: 16 bytes).
 */
const CONTROL_BYTES = 32;
const CMSG_TYPE = 12;
const CMSG_DATA = 16;

/**
 * recvmmsg's vectors, laid out once: slot i's header points at its sender's address and at its part of the arena.
 * The arrays are large enough that their memory lives outside the JavaScript heap and never moves.
 */
class ReceiveBatch {
  readonly arena = new Uint8Array(BATCH_SLOTS * SLOT_BYTES);
  readonly senders = new DataView(new ArrayBuffer(BATCH_SLOTS * SOCKADDR_IN_BYTES));
  readonly headers = new Uint8Array(BATCH_SLOTS * MMSGHDR_BYTES);
  readonly #headerView = new DataView(this.headers.buffer);
  readonly #iovecs = new Uint8Array(BATCH_SLOTS * IOVEC_BYTES);
  readonly #controls = new DataView(new ArrayBuffer(BATCH_SLOTS * CONTROL_BYTES));

  constructor(address: (bytes: Uint8Array) => bigint) {
    const arena = address(this.arena);
    const senders = address(new Uint8Array(this.senders.buffer));
    const iovecs = address(this.#iovecs);
    const controls = address(new Uint8Array(this.#controls.buffer));
    const iovecView = new DataView(this.#iovecs.buffer);
    for (let i = 0; i < BATCH_SLOTS; i++) {
      iovecView.setBigUint64(i * IOVEC_BYTES, arena + BigInt(i * SLOT_BYTES), true);
      iovecView.setBigUint64(i * IOVEC_BYTES + 8, BigInt(SLOT_BYTES), true);
      const header = i * MMSGHDR_BYTES;
      this.#headerView.setBigUint64(header + MSG_NAME, senders + BigInt(i * SOCKADDR_IN_BYTES), true);
      this.#headerView.setBigUint64(header + MSG_IOV, iovecs + BigInt(i * IOVEC_BYTES), true);
      this.#headerView.setBigUint64(header + MSG_IOVLEN, 1n, true);
      this.#headerView.setBigUint64(header + MSG_CONTROL, controls + BigInt(i * CONTROL_BYTES), true);
    }
  }

  /** Before a call: every slot has room for a whole sender address and control message again. */
  reset(): void {
    for (let i = 0; i < BATCH_SLOTS; i++) {
      this.#headerView.setUint32(i * MMSGHDR_BYTES + MSG_NAMELEN, SOCKADDR_IN_BYTES, true);
      this.#headerView.setBigUint64(i * MMSGHDR_BYTES + MSG_CONTROLLEN, BigInt(CONTROL_BYTES), true);
    }
  }

  /**
   * When slot i arrived (Unix ms), from its SO_TIMESTAMPNS control message; `fallbackMs` if it has none. The 64-bit
   * fields are read as 32-bit halves (lengths and nanoseconds fit the low half; seconds until 2106): no BigInt per
   * datagram.
   */
  arrivalMs(i: number, fallbackMs: number): number {
    const length = this.#headerView.getUint32(i * MMSGHDR_BYTES + MSG_CONTROLLEN, true);
    const control = i * CONTROL_BYTES;
    if (length < CONTROL_BYTES || this.#controls.getInt32(control + CMSG_TYPE, true) !== SO_TIMESTAMPNS) {
      return fallbackMs;
    }
    const seconds = this.#controls.getUint32(control + CMSG_DATA, true);
    const nanoseconds = this.#controls.getUint32(control + CMSG_DATA + 8, true);
    return seconds * 1000 + nanoseconds / 1e6;
  }

  /** Bytes slot i received. */
  length(i: number): number {
    return this.#headerView.getUint32(i * MMSGHDR_BYTES + MSG_LEN, true);
  }
}

/** A datagram taken from the socket, waiting to be handed on. */
interface Queued {
  data: Uint8Array;
  host: string;
  port: number;
  arrivalMs: number;
}

/**
 * A socket owned through libc and drained on a timer. Each poll takes every datagram the socket holds into a queue
 * at once, and the queue is handed on one datagram after another, `MAX_DATAGRAMS_PER_TURN` a turn: the kernel's
 * buffer is emptied at every poll however long the handing on takes.
 */
class PolledSocket implements UdpSocket {
  readonly receivePath = `libc, polled every ${POLL_INTERVAL_MS} ms`;
  readonly #batch: ReceiveBatch;
  readonly #to = new Uint8Array(SOCKADDR_IN_BYTES);
  /** Dotted quads by address as a 32-bit number: no string is built per datagram. */
  readonly #hosts = new Map<number, string>();
  /** A poll that takes this many datagrams has filled a quarter of the receive buffer: the next comes sooner. */
  readonly #busyDatagrams: number;
  #timer: GridTimer | undefined;
  /** Taken, not yet handed on: `#queue[#head]` is the next one. */
  #queue: Queued[] = [];
  #head = 0;
  #queuedBytes = 0;
  /** The run that hands the queue on, while there is one: runs take turns, since datagrams go on in order. */
  #handing: Promise<void> | undefined;
  #active = false;
  #closed = false;

  private constructor(
    readonly libc: Libc,
    readonly fd: number,
    readonly address: UdpSocket["address"],
    readonly receiveBufferBytes: number | undefined,
    readonly onDatagram: OnDatagram,
    readonly onError: OnDatagramError,
  ) {
    new DataView(this.#to.buffer).setUint16(0, AF_INET, true);
    this.#batch = new ReceiveBatch(libc.address);
    this.#busyDatagrams = receiveBufferBytes === undefined
      ? DEFAULT_BUSY_DATAGRAMS
      : Math.max(1, Math.floor(receiveBufferBytes / DATAGRAM_TRUESIZE_BYTES / 4));
  }

  static open(
    libc: Libc,
    ip: number[],
    port: number,
    bufferBytes: number,
    onDatagram: OnDatagram,
    onError: OnDatagramError,
  ): PolledSocket {
    const errno = () => ERRNO_NAMES[libc.errno()] ?? "EIO";
    const fd = libc.socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) throw new SocketError("socket", errno());
    const local = sockaddr(ip, port);
    if (libc.bind(fd, local, SOCKADDR_IN_BYTES) !== 0) {
      const code = errno();
      libc.close(fd);
      throw new SocketError("bind", code);
    }
    const length = new Uint32Array([SOCKADDR_IN_BYTES]);
    libc.getsockname(fd, local, new Uint8Array(length.buffer));
    const bound = new DataView(local.buffer).getUint16(2, false);
    const address = { address: ip.join("."), port: bound, family: "IPv4" as const };
    // Kernel receive times; without them (refused), a datagram's arrival is the poll's time.
    libc.setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, new Uint8Array(new Int32Array([1]).buffer), 4);
    return new PolledSocket(libc, fd, address, setReceiveBuffer(libc, fd, bufferBytes), onDatagram, onError);
  }

  send(data: Uint8Array, port: number, host: string): void {
    const ip = ipv4Bytes(host);
    if (this.#closed || ip === undefined) return;
    this.#to.set(ip, 4);
    new DataView(this.#to.buffer).setUint16(2, port, false);
    this.libc.sendto(this.fd, data, BigInt(data.byteLength), MSG_DONTWAIT, this.#to, SOCKADDR_IN_BYTES);
  }

  setActive(active: boolean): void {
    this.#active = active;
    if (active && this.#timer === undefined && !this.#closed) this.#schedule("grid");
  }

  /** The next poll: at the next grid point (with the service's other timers), or in `delayMs` when busy. */
  #schedule(next: "grid" | number): void {
    this.#timer?.clear();
    const poll = () => {
      this.#timer = undefined;
      if (this.#closed || !this.#active) return;
      const taken = this.#take();
      void this.#handOn();
      this.#schedule(taken >= this.#busyDatagrams ? BUSY_POLL_INTERVAL_MS : "grid");
    };
    if (next === "grid") {
      this.#timer = atNextGridPoint(POLL_INTERVAL_MS, poll);
    } else {
      const timeout = setTimeout(poll, next);
      this.#timer = { clear: () => clearTimeout(timeout) };
    }
  }

  async flush(): Promise<void> {
    if (this.#closed) return;
    this.#take();
    await this.#handOn();
  }

  /**
   * Moves every datagram the socket holds into the queue, until the queue holds `MAX_QUEUED_BYTES`; answers how many
   * it took. Each is copied out of the batch's memory into a plain array of its own (not a Buffer: Deno's is a
   * typed-array subclass, slow to construct; nor a view of one copy of the batch: an audio frame is a view of its
   * datagram and lives until its fragment is written, about a second, and would keep its whole batch alive that
   * long, into V8's old generation).
   */
  #take(): number {
    const batch = this.#batch;
    let count = 0;
    while (this.#queuedBytes < MAX_QUEUED_BYTES && !this.#closed) {
      batch.reset();
      const received = this.libc.recvmmsg(this.fd, batch.headers, BATCH_SLOTS, MSG_DONTWAIT, null);
      if (received <= 0) break;
      count += received;
      const polledAtMs = Date.now();
      for (let i = 0; i < received; i++) {
        const bytes = batch.length(i);
        const ip = batch.senders.getUint32(i * SOCKADDR_IN_BYTES + 4, false);
        let host = this.#hosts.get(ip);
        if (host === undefined) {
          if (this.#hosts.size >= 4096) this.#hosts.clear();
          host = `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
          this.#hosts.set(ip, host);
        }
        this.#queue.push({
          data: batch.arena.slice(i * SLOT_BYTES, i * SLOT_BYTES + bytes),
          host,
          port: batch.senders.getUint16(i * SOCKADDR_IN_BYTES + 2, false),
          arrivalMs: batch.arrivalMs(i, polledAtMs),
        });
        this.#queuedBytes += bytes;
      }
      if (received < BATCH_SLOTS) break;
    }
    return count;
  }

  /**
   * Hands the queue on, starting a run unless one is under way; settles once the queue is empty. A run that has just
   * ended is still `#handing` for a moment: what was queued after its last look is handed on by a new run.
   */
  async #handOn(): Promise<void> {
    while (this.#head < this.#queue.length && !this.#closed) {
      this.#handing ??= this.#handAll().finally(() => this.#handing = undefined);
      await this.#handing;
    }
  }

  /**
   * Hands on queued datagrams in order, waiting for a receiver's promise before the next; after each
   * `MAX_DATAGRAMS_PER_TURN` it lets the event loop run and drains the socket again.
   */
  async #handAll(): Promise<void> {
    let inTurn = 0;
    while (this.#head < this.#queue.length && !this.#closed) {
      if (inTurn === MAX_DATAGRAMS_PER_TURN) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
        this.#take();
        inTurn = 0;
        continue;
      }
      const { data, host, port, arrivalMs } = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined!;
      this.#queuedBytes -= data.byteLength;
      inTurn++;
      try {
        const handled = this.onDatagram(data, host, port, arrivalMs);
        if (handled !== undefined) await handled;
      } catch (error) {
        this.onError(error, host, port);
      }
    }
    this.#queue = [];
    this.#head = 0;
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#timer?.clear();
      this.libc.close(this.fd);
      this.#queue = [];
      this.#head = 0;
      this.#queuedBytes = 0;
    }
    return Promise.resolve();
  }
}

function sockaddr(ip: number[], port: number): Uint8Array {
  const bytes = new Uint8Array(SOCKADDR_IN_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port, false);
  bytes.set(ip, 4);
  return bytes;
}

/**
 * Asks for a receive buffer of `bytes`, beyond `net.core.rmem_max` where the process may (root); answers what the
 * kernel granted, or undefined when it cannot tell.
 */
function setReceiveBuffer(libc: Libc, fd: number, bytes: number): number | undefined {
  const wanted = new Uint8Array(new Int32Array([bytes]).buffer);
  if (libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, wanted, 4) !== 0) {
    libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, wanted, 4);
  }
  const granted = new Int32Array(1);
  const length = new Uint32Array([4]);
  const read = libc.getsockopt(
    fd,
    SOL_SOCKET,
    SO_RCVBUF,
    new Uint8Array(granted.buffer),
    new Uint8Array(length.buffer),
  );
  return read === 0 ? granted[0] : undefined;
}

/** A `node:dgram` socket: event-driven, so `setActive` has nothing to do. */
async function openDgramSocket(
  listen: { hostname: string; port: number },
  receiveBufferBytes: number,
  onDatagram: OnDatagram,
  onError: OnDatagramError,
): Promise<UdpSocket> {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind({ address: listen.hostname, port: listen.port }, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  // Each datagram has a turn of its own here, so a receiver's promise has nothing to hold back.
  socket.on("message", (data, info) => {
    try {
      void onDatagram(data, info.address, info.port, Date.now())?.catch((error) =>
        onError(error, info.address, info.port)
      );
    } catch (error) {
      onError(error, info.address, info.port);
    }
  });
  let granted: number | undefined;
  // Only Bun's reaches the socket; Deno 2.9.6's breaks receiving.
  if (isBun) {
    socket.setRecvBufferSize(receiveBufferBytes);
    granted = socket.getRecvBufferSize();
  }
  const { address, port } = socket.address();
  return {
    address: { address, port, family: "IPv4" },
    receiveBufferBytes: granted,
    receivePath: "node:dgram",
    send: (data, toPort, host) => socket.send(data, toPort, host),
    setActive: () => {},
    flush: () => Promise.resolve(),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}
