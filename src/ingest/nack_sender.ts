/**
 * Sends a WebRTC session's NACKs: one requester per SSRC (`src/rtp/nack.ts`), a gap asked for as soon as it shows,
 * and again on a timer that runs only while something is missing.
 */

import { genericNack, NackRequester } from "../rtp/mod.ts";
import type { Clock } from "../shared/clock.ts";

/** How often the missing packets are looked at while there are any. */
const TICK_MS = 10;
const NACK_OPTIONS = {
  /**
   * A retransmission on loopback or a LAN comes back in a few ms; 40 ms leaves room for a busy publisher or box. A
   * socket read in polls waits longer (`retryAfterMs`), so that a packet is not asked for again while its
   * retransmission waits in the socket.
   */
  retryIntervalMs: 40,
  /** Below the 1000 ms the recorder's reorder buffer waits for a gap (src/recorder/pipeline.ts). */
  maxAgeMs: 900,
  /** Ten requests 40 ms apart: 400 ms for a retransmission to come through. */
  maxRequests: 10,
  maxMissing: 500,
};

/** The NACKs of one session's video. */
export class NackSender {
  readonly #requesters = new Map<number, NackRequester>();
  readonly #clock: Clock;
  readonly #options: typeof NACK_OPTIONS;
  readonly #senderSsrc: number;
  /** Sends RTCP packets (plain; the session protects them). */
  readonly #send: (packets: Uint8Array[]) => void;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  /** Generic NACK packets sent. */
  sent = 0;

  constructor(clock: Clock, senderSsrc: number, send: (packets: Uint8Array[]) => void, retryAfterMs?: number) {
    this.#options = retryAfterMs === undefined ? NACK_OPTIONS : { ...NACK_OPTIONS, retryIntervalMs: retryAfterMs };
    this.#clock = clock;
    this.#senderSsrc = senderSsrc;
    this.#send = send;
  }

  /** Notes a video packet (a retransmission with its original SSRC and sequence number); a new gap is asked for now. */
  arrived(ssrc: number, sequenceNumber: number): void {
    if (this.#closed) return;
    let requester = this.#requesters.get(ssrc);
    if (requester === undefined) this.#requesters.set(ssrc, requester = new NackRequester(this.#options));
    if (requester.arrived(sequenceNumber, this.#clock.nowMs()) === 0) return;
    this.#tick();
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#requesters.clear();
  }

  #tick(): void {
    const nowMs = this.#clock.nowMs();
    const packets: Uint8Array[] = [];
    let missing = 0;
    for (const [ssrc, requester] of this.#requesters) {
      const due = requester.due(nowMs);
      missing += requester.missingCount;
      if (due.length > 0) packets.push(genericNack(this.#senderSsrc, ssrc, due));
    }
    if (packets.length > 0) {
      this.sent += packets.length;
      this.#send(packets);
    }
    if (missing === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
