/**
 * A UDP relay on loopback that puts a lossy network between a WebRTC publisher and the service: it drops and
 * reorders the publisher's SRTP media packets at seeded random, and passes everything else (STUN, DTLS, SRTCP)
 * untouched, so that ICE and DTLS complete as they would on a clean path and only media suffers (a script can drop
 * any one datagram, DTLS included, in either direction). Datagrams are told
 * apart by their first bytes (RFC 7983 §7, RFC 5761 §4); SRTP leaves the RTP header in clear, so each packet's
 * payload type is known and counted too. It judges nothing about what arrives.
 */

import dgram from "node:dgram";
import type { Buffer } from "node:buffer";

/** What the relay does with one datagram: pass it, drop it, or hold it back behind the next one of its kind. */
export type Action = "pass" | "drop" | "hold";

/** What happens to the datagrams of one direction that may be impaired. */
export interface Impairment {
  /** Share dropped, 0 to 1. */
  lossRate: number;
  /** Share held back behind the next datagram of the same kind (or for `reorderHoldMs`), 0 to 1. */
  reorderRate: number;
}

export interface LossyRelayOptions {
  /** Where the relay forwards what the publisher sends (the service's ICE candidate). */
  target: { hostname: string; port: number };
  /** Publisher → target: applies to RTP packets only, never to STUN, DTLS or RTCP. */
  toTarget: Impairment;
  /** Target → publisher: applies to SRTP and SRTCP (the service sends RTCP only), never to STUN or DTLS. */
  toPublisher?: Impairment;
  /** Seed of the random choices: the same seed makes the same choices for the same sequence of datagrams. */
  seed: number;
  /**
   * Publisher → target: decides a datagram before the random draw, given its kind (see `classify`) and its index
   * among the datagrams of that kind (0 for the first); undefined leaves it to chance.
   */
  script?: (kind: string, index: number) => Action | undefined;
  /** Target → publisher: the same, for what the service sends (its DTLS flights included). */
  scriptToPublisher?: (kind: string, index: number) => Action | undefined;
  /** Longest time a held datagram waits for the next one of its kind, in ms. */
  reorderHoldMs?: number;
}

/** What one direction did with the datagrams of one kind. */
export interface Counts {
  /** Datagrams sent on, held ones included. */
  forwarded: number;
  dropped: number;
  /** Datagrams sent on after the next one of their kind (or after `reorderHoldMs`). */
  reordered: number;
}

/** Counts of one direction by kind: `pt <n>` for RTP packets of payload type n, `rtcp`, `stun`, `dtls`, `other`. */
export type DirectionCounts = Record<string, Counts>;

export interface LossyRelay {
  /** The loopback port publishers send to: the port to put in the rewritten candidate. */
  port: number;
  /** Counts so far, per direction, and how many datagrams from addresses other than loopback were ignored. */
  counts(): { toTarget: DirectionCounts; toPublisher: DirectionCounts; ignored: number };
  /** Stops relaying and closes every socket. */
  close(): Promise<void>;
}

/** The kind of a datagram on a WebRTC 5-tuple, by its first bytes (RFC 7983 §7; RTCP by RFC 5761 §4). */
export function classify(datagram: Uint8Array): string {
  const first = datagram[0] ?? 255;
  if (first <= 3) return "stun";
  if (first >= 20 && first <= 63) return "dtls";
  if (first >= 128 && first <= 191 && datagram.length >= 12) {
    const second = datagram[1]!;
    return second >= 192 && second <= 223 ? "rtcp" : `pt ${second & 0x7f}`;
  }
  return "other";
}

/** The sum of `counts` over the kinds `include` accepts (all by default). */
export function total(counts: DirectionCounts, include: (kind: string) => boolean = () => true): Counts {
  const sum: Counts = { forwarded: 0, dropped: 0, reordered: 0 };
  for (const [kind, { forwarded, dropped, reordered }] of Object.entries(counts)) {
    if (!include(kind)) continue;
    sum.forwarded += forwarded;
    sum.dropped += dropped;
    sum.reordered += reordered;
  }
  return sum;
}

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32): reproducible test loss, nothing more. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A datagram and how to send it on. */
interface Pending {
  datagram: Uint8Array;
  send(datagram: Uint8Array): void;
}

/** One direction of the relay: decides, in arrival order, what to pass, drop or hold back, and counts it. */
class Path {
  readonly counts: DirectionCounts = {};
  readonly #choose: (kind: string, index: number) => Action;
  readonly #holdMs: number;
  /** Per kind: the datagram held back, until the next one of its kind is sent or its time is up. */
  readonly #held = new Map<string, Pending & { timer: ReturnType<typeof setTimeout> }>();

  constructor(choose: (kind: string, index: number) => Action, holdMs: number) {
    this.#choose = choose;
    this.#holdMs = holdMs;
  }

  push(datagram: Uint8Array, send: (datagram: Uint8Array) => void): void {
    const kind = classify(datagram);
    const counts = this.counts[kind] ??= { forwarded: 0, dropped: 0, reordered: 0 };
    const action = this.#choose(kind, counts.forwarded + counts.dropped);
    if (action === "drop") {
      counts.dropped++;
      return;
    }
    counts.forwarded++;
    if (action === "hold" && !this.#held.has(kind)) {
      counts.reordered++;
      this.#held.set(kind, { datagram, send, timer: setTimeout(() => this.#release(kind), this.#holdMs) });
      return;
    }
    send(datagram);
    this.#release(kind);
  }

  /** Sends the datagram of `kind` held back, if any: it now arrives after the one that followed it. */
  #release(kind: string): void {
    const held = this.#held.get(kind);
    if (held === undefined) return;
    this.#held.delete(kind);
    clearTimeout(held.timer);
    held.send(held.datagram);
  }

  close(): void {
    for (const { timer } of this.#held.values()) clearTimeout(timer);
    this.#held.clear();
  }
}

/** Draws an action for each datagram that `impaired` accepts; the others pass. */
function chooser(impairment: Impairment, random: () => number, impaired: (kind: string) => boolean) {
  return (kind: string): Action => {
    if (!impaired(kind)) return "pass";
    const draw = random();
    if (draw < impairment.lossRate) return "drop";
    return draw < impairment.lossRate + impairment.reorderRate ? "hold" : "pass";
  };
}

/**
 * Starts a relay on an ephemeral loopback port. Each publisher address gets a socket of its own towards the target,
 * so the service sees one loopback peer per publisher candidate and its replies find their way back. Datagrams from
 * addresses other than loopback are ignored, as the service ignores them on its loopback candidate.
 */
export async function startLossyRelay(options: LossyRelayOptions): Promise<LossyRelay> {
  const holdMs = options.reorderHoldMs ?? 5;
  // Each direction draws from its own generator, so that one direction's choices do not depend on the other's traffic.
  const drawToTarget = chooser(options.toTarget, seededRandom(options.seed), (kind) => kind.startsWith("pt "));
  const toTarget = new Path((kind, index) => options.script?.(kind, index) ?? drawToTarget(kind), holdMs);
  const drawToPublisher = chooser(
    options.toPublisher ?? { lossRate: 0, reorderRate: 0 },
    seededRandom(options.seed ^ 0x5bd1e995),
    (kind) => kind === "rtcp" || kind.startsWith("pt "),
  );
  const toPublisher = new Path(
    (kind, index) => options.scriptToPublisher?.(kind, index) ?? drawToPublisher(kind),
    holdMs,
  );
  let ignored = 0;
  let closed = false;
  const front = dgram.createSocket("udp4");
  /** Per publisher address: its socket towards the target, and how to send through it once it is bound. */
  const upstreams = new Map<string, { socket: dgram.Socket; send(datagram: Uint8Array): void }>();
  const upstreamFor = (address: string, port: number) => {
    const key = `${address}:${port}`;
    const known = upstreams.get(key);
    if (known !== undefined) return known;
    const socket = dgram.createSocket("udp4");
    socket.on("message", (message: Buffer) => {
      toPublisher.push(message, (datagram) => closed || front.send(datagram, port, address));
    });
    socket.on("error", () => {}); // an unreachable target shows as a publish that never connects
    const bound = bind(socket);
    const { hostname, port: targetPort } = options.target;
    const upstream = {
      socket,
      send: (datagram: Uint8Array) => void bound.then(() => closed || socket.send(datagram, targetPort, hostname)),
    };
    upstreams.set(key, upstream);
    return upstream;
  };
  front.on("message", (message: Buffer, remote: dgram.RemoteInfo) => {
    if (!remote.address.startsWith("127.")) {
      ignored++;
      return;
    }
    toTarget.push(message, upstreamFor(remote.address, remote.port).send);
  });
  front.on("error", () => {});
  await bind(front);
  return {
    port: front.address().port,
    counts: () => ({
      toTarget: structuredClone(toTarget.counts),
      toPublisher: structuredClone(toPublisher.counts),
      ignored,
    }),
    async close() {
      closed = true;
      toTarget.close();
      toPublisher.close();
      const sockets = [front, ...[...upstreams.values()].map((upstream) => upstream.socket)];
      await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
    },
  };
}

/** Binds `socket` to an ephemeral loopback port, leaving its receive buffer at the system's default size. */
function bind(socket: dgram.Socket): Promise<void> {
  // No setRecvBufferSize: in this Deno version it stops the socket from receiving anything at all.
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      socket.off("error", reject);
      resolve();
    });
  });
}
