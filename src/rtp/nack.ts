/**
 * Which packets of one RTP stream to ask the sender for again, and the generic NACK that asks (RFC 4585 §6.2.1).
 * A gap in the sequence numbers is requested at once, then again every `retryIntervalMs` until the packet comes
 * (first sent or retransmitted, RFC 4588), it is `maxAgeMs` old or it was asked for `maxRequests` times. Spacing the
 * requests in time keeps a packet asked for through a stall of the event loop: requests made back to back in one
 * late timer burst would all reach the sender before its first retransmission could be lost and asked for again.
 * Pure: the caller passes the time.
 */

/** How long a missing packet is asked for, and how often. */
export interface NackOptions {
  /** Time between two requests for the same packet. */
  retryIntervalMs: number;
  /** A packet missing for longer is no longer asked for (the receiver has given up on it by then). */
  maxAgeMs: number;
  /**
   * Requests for one packet at most. A publisher that cannot keep up is not asked the same again and again: each
   * request it answers costs it and the link a retransmission.
   */
  maxRequests: number;
  /** Most packets asked for at once; beyond it the oldest are dropped (a burst that large wants a keyframe). */
  maxMissing: number;
}

/** A forward jump larger than this is a restart of the sender's numbering, not a loss to ask for. */
const MAX_GAP_PACKETS = 1000;
const SEQUENCE_RANGE = 0x1_0000;

interface Missing {
  sinceMs: number;
  /** When it was last asked for; undefined before the first request. */
  requestedAtMs: number | undefined;
  requests: number;
}

/** The missing packets of one SSRC. */
export class NackRequester {
  readonly #options: NackOptions;
  /** Highest sequence number seen (16 bits); undefined before the first packet. */
  #highest: number | undefined;
  /** Missing sequence numbers (16 bits), oldest first: the Map keeps insertion order. */
  readonly #missing = new Map<number, Missing>();

  constructor(options: NackOptions) {
    this.#options = options;
  }

  /** Notes a packet's arrival (a retransmission with its original sequence number); answers how many became missing. */
  arrived(sequenceNumber: number, nowMs: number): number {
    const highest = this.#highest;
    if (highest === undefined) {
      this.#highest = sequenceNumber;
      return 0;
    }
    const ahead = (sequenceNumber - highest + SEQUENCE_RANGE) % SEQUENCE_RANGE;
    if (ahead === 0) return 0;
    if (ahead >= SEQUENCE_RANGE / 2) {
      this.#missing.delete(sequenceNumber);
      return 0;
    }
    this.#highest = sequenceNumber;
    if (ahead > MAX_GAP_PACKETS) {
      this.#missing.clear();
      return 0;
    }
    for (let step = 1; step < ahead; step++) {
      this.#missing.set((highest + step) % SEQUENCE_RANGE, { sinceMs: nowMs, requestedAtMs: undefined, requests: 0 });
    }
    if (this.#missing.size > this.#options.maxMissing) {
      for (const sequence of this.#missing.keys()) {
        if (this.#missing.size <= this.#options.maxMissing) break;
        this.#missing.delete(sequence);
      }
    }
    return ahead - 1;
  }

  /**
   * The sequence numbers to ask for now, oldest first; marks them asked, and forgets those past `maxAgeMs` and those
   * asked for `maxRequests` times.
   */
  due(nowMs: number): number[] {
    const { maxAgeMs, retryIntervalMs, maxRequests } = this.#options;
    const due: number[] = [];
    for (const [sequence, missing] of this.#missing) {
      const retry = missing.requestedAtMs === undefined || nowMs - missing.requestedAtMs >= retryIntervalMs;
      if (nowMs - missing.sinceMs > maxAgeMs || (retry && missing.requests >= maxRequests)) {
        this.#missing.delete(sequence);
      } else if (retry) {
        missing.requestedAtMs = nowMs;
        missing.requests++;
        due.push(sequence);
      }
    }
    return due;
  }

  /** How many packets are missing and still asked for. */
  get missingCount(): number {
    return this.#missing.size;
  }
}

/**
 * One RTCP generic NACK (RFC 4585 §6.2.1: PT 205, FMT 1) asking `mediaSsrc` for `sequenceNumbers`, given in
 * sending order. Each FCI entry names a packet (PID) and which of the 16 after it are also asked for (BLP); the
 * numbers may wrap past 65535.
 */
export function genericNack(senderSsrc: number, mediaSsrc: number, sequenceNumbers: readonly number[]): Uint8Array {
  const entries: [pid: number, blp: number][] = [];
  for (const sequence of sequenceNumbers) {
    const last = entries.at(-1);
    const after = last === undefined ? -1 : (sequence - last[0] + SEQUENCE_RANGE) % SEQUENCE_RANGE - 1;
    if (last !== undefined && after >= 0 && after < 16) {
      last[1] |= 1 << after;
    } else {
      entries.push([sequence, 0]);
    }
  }
  const bytes = new Uint8Array(12 + 4 * entries.length);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, 0x80 | 1);
  view.setUint8(1, 205);
  view.setUint16(2, bytes.length / 4 - 1);
  view.setUint32(4, senderSsrc);
  view.setUint32(8, mediaSsrc);
  entries.forEach(([pid, blp], index) => {
    view.setUint16(12 + 4 * index, pid);
    view.setUint16(14 + 4 * index, blp);
  });
  return bytes;
}
