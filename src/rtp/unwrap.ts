/**
 * Extends wrapping RTP counters to monotonic JavaScript numbers: 16-bit sequence numbers and 32-bit timestamps
 * (RFC 3550 §5.1 "wraps around"; cf. the extended highest sequence number of §6.4.1). Each value is placed
 * nearest to the previous one, so reordering by less than half the range is handled on either side of a wrap.
 */

class Unwrapper {
  #last: number | undefined;

  constructor(private readonly range: number) {}

  /** The extended value of `value` (taken modulo the range); the first value is returned unchanged. */
  unwrap(value: number): number {
    const wrapped = ((value % this.range) + this.range) % this.range;
    if (this.#last === undefined) {
      this.#last = wrapped;
      return wrapped;
    }
    let delta = (wrapped - (this.#last % this.range) + this.range) % this.range;
    if (delta >= this.range / 2) delta -= this.range;
    this.#last += delta;
    return this.#last;
  }
}

/** 16-bit RTP sequence numbers to extended numbers; may go below 0 if early packets are reordered. */
export class SequenceUnwrapper {
  readonly #inner = new Unwrapper(0x1_0000);

  /** Extended sequence number of a 16-bit `sequenceNumber`. */
  unwrap(sequenceNumber: number): number {
    return this.#inner.unwrap(sequenceNumber);
  }
}

/** 32-bit RTP timestamps to extended ticks; exact up to 2^53 (about 3,000 years at 90 kHz). */
export class TimestampUnwrapper {
  readonly #inner = new Unwrapper(0x1_0000_0000);

  /** Extended timestamp in RTP ticks of a 32-bit `timestamp`. */
  unwrap(timestamp: number): number {
    return this.#inner.unwrap(timestamp);
  }
}
