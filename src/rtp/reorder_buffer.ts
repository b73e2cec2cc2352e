/**
 * Restores RTP sequence order and turns gaps into explicit losses. Duplicates and packets that arrive after their
 * gap was given up are dropped and counted. The window follows RFC 3550 Appendix A.1: up to MAX_DROPOUT ahead and
 * MAX_MISORDER behind; a packet further away is held as a possible restart, and a second one close to it resyncs.
 * It never requests retransmissions and knows no wall-clock time: waiting is bounded in packets and RTP ticks.
 */

import { assert } from "../shared/assert.ts";
import type { RtpPacket } from "./packet.ts";

/** What the buffer releases, in sequence order. */
export type ReorderOutput =
  /** The next packet; `extendedSequence` keeps increasing across 16-bit wrap and resyncs. */
  | { type: "packet"; packet: RtpPacket; extendedSequence: number }
  /** `count` packets will never come; 0 means a resync (sequence jump) of unknown size. */
  | { type: "loss"; count: number };

/** Bounds on how long a gap at the head of the buffer may hold back later packets. */
export interface ReorderBufferOptions {
  /** Give up on a gap once this many packets wait behind it. */
  capacityPackets: number;
  /** Give up on a gap once the newest waiting packet is this many RTP ticks after the oldest waiting one. */
  maxDelayTicks: number;
}

/** Counters since construction; `lost` sums the counts of emitted losses. */
export interface ReorderStats {
  /** Packets pushed. */
  received: number;
  /** Packets already buffered or already released. */
  duplicates: number;
  /** Packets that arrived after their gap was reported lost. */
  late: number;
  /** Packets reported lost. */
  lost: number;
  /** Packets that arrived after a higher sequence number and were still released in order. */
  reordered: number;
  /** Packets dropped because they were far outside the window and no resync followed. */
  outOfWindow: number;
  /** Times the sequence jumped (e.g. a publisher restart) and numbering restarted from the new packets. */
  resyncs: number;
}

/** Largest forward jump treated as loss rather than a restart (RFC 3550 Appendix A.1, MAX_DROPOUT). */
const MAX_DROPOUT = 3000;
/** Largest backward distance treated as reordering rather than a restart (RFC 3550 Appendix A.1, MAX_MISORDER). */
const MAX_MISORDER = 100;
const SEQUENCE_RANGE = 0x1_0000;
/**
 * Slots of the waiting ring, a power of two above MAX_DROPOUT: the waiting packets' extended sequence numbers lie
 * within MAX_DROPOUT of each other, so each has its own slot.
 */
const RING_SLOTS = 4096;

/** Sequence-order restoration for one RTP stream (one SSRC). */
export class ReorderBuffer {
  /** Counters since construction. */
  readonly stats: ReorderStats = {
    received: 0,
    duplicates: 0,
    late: 0,
    lost: 0,
    reordered: 0,
    outOfWindow: 0,
    resyncs: 0,
  };
  readonly #capacityPackets: number;
  readonly #maxDelayTicks: number;
  /**
   * Packets waiting for a gap before them, at their extended sequence number modulo RING_SLOTS. An array and not a
   * Map: a long-lived Map that grows and shrinks allocates its new tables in V8's old space, where they wait for a
   * full collection; at one set and one delete per packet that was most of what the service promoted.
   */
  readonly #waiting = new WaitingRing();
  /** Extended sequence numbers reported lost within MAX_MISORDER behind `#next`, to tell late from duplicate. */
  readonly #recentlyLost = new Set<number>();
  /** Extended sequence number of the next packet to release; undefined before the first packet. */
  #next: number | undefined;
  /** Highest extended sequence number accepted. */
  #highest = 0;
  /** The last packet that was far outside the window: a restart if the next one lands close to it. */
  #stray: RtpPacket | undefined;
  /**
   * Whether anything was released. The first packet waits for the second, which may be from before it: the packets
   * of a keyframe's parameter sets overtaken by its first slice would otherwise lose the recording its first second.
   */
  #started = false;

  constructor({ capacityPackets, maxDelayTicks }: ReorderBufferOptions) {
    assert(
      Number.isInteger(capacityPackets) && capacityPackets >= 1,
      `capacityPackets must be >= 1, got ${capacityPackets}`,
    );
    assert(maxDelayTicks >= 0, `maxDelayTicks must be >= 0, got ${maxDelayTicks}`);
    this.#capacityPackets = capacityPackets;
    this.#maxDelayTicks = maxDelayTicks;
  }

  /** Takes one packet; returns whatever became releasable, in order. */
  push(packet: RtpPacket): ReorderOutput[] {
    this.stats.received++;
    const out: ReorderOutput[] = [];
    if (this.#next === undefined) {
      this.#next = packet.sequenceNumber;
      this.#highest = packet.sequenceNumber;
      this.#waiting.set(this.#next, packet);
      return out;
    }
    const ahead = mod16(packet.sequenceNumber - this.#next);
    if (ahead < MAX_DROPOUT) {
      this.#discardStray();
      this.#accept(this.#next + ahead, packet, out);
    } else if (ahead >= SEQUENCE_RANGE - MAX_MISORDER) {
      this.#discardStray();
      if (this.#started) {
        this.#behind(this.#next + ahead - SEQUENCE_RANGE);
      } else {
        this.#next += ahead - SEQUENCE_RANGE;
        this.#accept(this.#next, packet, out);
      }
    } else {
      this.#outOfWindow(packet, out);
    }
    return out;
  }

  /** Releases everything still waiting, in order, with losses for the gaps (end of stream). */
  flush(): ReorderOutput[] {
    const out: ReorderOutput[] = [];
    this.#discardStray();
    this.#releaseAll(out);
    return out;
  }

  #accept(extended: number, packet: RtpPacket, out: ReorderOutput[]): void {
    if (this.#waiting.has(extended)) {
      this.stats.duplicates++;
      return;
    }
    if (extended < this.#highest) this.stats.reordered++;
    this.#highest = Math.max(this.#highest, extended);
    this.#waiting.set(extended, packet);
    this.#release(out);
  }

  #behind(extended: number): void {
    if (this.#recentlyLost.delete(extended)) {
      this.stats.late++;
    } else {
      this.stats.duplicates++;
    }
  }

  /** Releases the contiguous head, then gives up on head gaps while the buffer is too full or too long. */
  #release(out: ReorderOutput[]): void {
    this.#started = true;
    for (;;) {
      this.#releaseContiguous(out);
      if (this.#waiting.size === 0) return;
      // Waiting packets lie in (#next, #highest] with #highest among them: the first found counting up is the oldest.
      let oldest = this.#next! + 1;
      while (oldest < this.#highest && !this.#waiting.has(oldest)) oldest++;
      const oldestTimestamp = this.#waiting.get(oldest)!.timestamp;
      const newestTimestamp = this.#waiting.get(this.#highest)!.timestamp;
      const spanTicks = (newestTimestamp - oldestTimestamp) | 0;
      if (this.#waiting.size < this.#capacityPackets && spanTicks <= this.#maxDelayTicks) return;
      this.#skipTo(oldest, out);
    }
  }

  #releaseContiguous(out: ReorderOutput[]): void {
    let next = this.#next!;
    for (let packet = this.#waiting.get(next); packet !== undefined; packet = this.#waiting.get(next)) {
      this.#waiting.delete(next);
      out.push({ type: "packet", packet, extendedSequence: next });
      next++;
    }
    this.#next = next;
  }

  #skipTo(extended: number, out: ReorderOutput[]): void {
    const next = this.#next!;
    const count = extended - next;
    out.push({ type: "loss", count });
    this.stats.lost += count;
    for (let lost = Math.max(next, extended - MAX_MISORDER); lost < extended; lost++) this.#recentlyLost.add(lost);
    for (const lost of this.#recentlyLost) {
      if (lost < extended - MAX_MISORDER) this.#recentlyLost.delete(lost);
    }
    this.#next = extended;
  }

  #releaseAll(out: ReorderOutput[]): void {
    for (let extended = this.#next!; this.#waiting.size > 0 && extended <= this.#highest; extended++) {
      if (!this.#waiting.has(extended)) continue;
      if (extended > this.#next!) this.#skipTo(extended, out);
      this.#releaseContiguous(out);
    }
  }

  #outOfWindow(packet: RtpPacket, out: ReorderOutput[]): void {
    const stray = this.#stray;
    const distance = stray === undefined ? 0 : mod16(packet.sequenceNumber - stray.sequenceNumber);
    const close = distance !== 0 && (distance <= MAX_MISORDER || distance >= SEQUENCE_RANGE - MAX_MISORDER);
    if (stray === undefined || !close) {
      this.#discardStray();
      this.#stray = packet;
      return;
    }
    // Two packets close together far from the window: the stream restarted. Keep both, renumber after #highest.
    this.#stray = undefined;
    this.#releaseAll(out);
    out.push({ type: "loss", count: 0 });
    this.stats.resyncs++;
    const [first, second] = distance <= MAX_MISORDER ? [stray, packet] : [packet, stray];
    const start = this.#highest + 1 + mod16(first.sequenceNumber - (this.#highest + 1));
    this.#recentlyLost.clear();
    this.#next = start;
    this.#highest = start;
    this.#accept(start, first, out);
    this.#accept(start + mod16(second.sequenceNumber - first.sequenceNumber), second, out);
  }

  #discardStray(): void {
    if (this.#stray === undefined) return;
    this.stats.outOfWindow++;
    this.#stray = undefined;
  }
}

/** The waiting packets by extended sequence number, all within RING_SLOTS of each other. */
class WaitingRing {
  readonly #slots: (RtpPacket | undefined)[] = new Array(RING_SLOTS).fill(undefined);
  /** The extended sequence number each slot's packet was set at. */
  readonly #keys = new Float64Array(RING_SLOTS);
  size = 0;

  has(extended: number): boolean {
    return this.get(extended) !== undefined;
  }

  get(extended: number): RtpPacket | undefined {
    const slot = extended & (RING_SLOTS - 1);
    return this.#keys[slot] === extended ? this.#slots[slot] : undefined;
  }

  set(extended: number, packet: RtpPacket): void {
    const slot = extended & (RING_SLOTS - 1);
    assert(this.#slots[slot] === undefined, "two waiting packets share a ring slot"); // a fixed message: per packet
    this.#slots[slot] = packet;
    this.#keys[slot] = extended;
    this.size++;
  }

  delete(extended: number): void {
    const slot = extended & (RING_SLOTS - 1);
    if (this.#keys[slot] !== extended || this.#slots[slot] === undefined) return;
    this.#slots[slot] = undefined;
    this.size--;
  }
}

function mod16(value: number): number {
  return ((value % SEQUENCE_RANGE) + SEQUENCE_RANGE) % SEQUENCE_RANGE;
}
