/**
 * SRTP packet index estimation (RFC 3711 §3.3.1 and Appendix A: the 48-bit index ROC · 2^16 + SEQ guessed from the
 * highest index received so far) and a replay window of the last `REPLAY_WINDOW_PACKETS` indices (§3.3.2). SRTCP
 * uses the same window over its explicit 31-bit index.
 */

export const REPLAY_WINDOW_PACKETS = 64;

/** `ReplayWindow.check` results. */
export const REPLAY_FRESH = 0;
export const REPLAY_DUPLICATE = 1;
export const REPLAY_TOO_OLD = 2;
export type ReplayCheck = typeof REPLAY_FRESH | typeof REPLAY_DUPLICATE | typeof REPLAY_TOO_OLD;

const SEQUENCE_RANGE = 0x10000;
const HALF_SEQUENCE_RANGE = 0x8000;

/**
 * The index of a packet with `sequenceNumber`, given the highest index `highestIndex` authenticated so far (RFC 3711
 * Appendix A): the rollover counter of the highest packet, one less, or one more, whichever puts the packet nearest.
 * Negative when the packet would precede index 0 (a rollover counter of -1).
 */
export function estimatePacketIndex(highestIndex: number, sequenceNumber: number): number {
  const rolloverCounter = Math.floor(highestIndex / SEQUENCE_RANGE);
  const highestSequence = highestIndex % SEQUENCE_RANGE;
  let guess = rolloverCounter;
  if (highestSequence < HALF_SEQUENCE_RANGE) {
    if (sequenceNumber - highestSequence > HALF_SEQUENCE_RANGE) guess = rolloverCounter - 1;
  } else if (highestSequence - HALF_SEQUENCE_RANGE > sequenceNumber) {
    guess = rolloverCounter + 1;
  }
  return guess * SEQUENCE_RANGE + sequenceNumber;
}

/** Which of the last 64 indices up to the highest one were received. */
export class ReplayWindow {
  /** The highest index accepted. */
  highestIndex: number;
  /** Bit d of `#recentLow` (d < 32) or `#recentHigh` (d - 32) is set once index `highestIndex - d` is accepted. */
  #recentLow = 1;
  #recentHigh = 0;

  /** A window whose first accepted index is `firstIndex`. */
  constructor(firstIndex: number) {
    this.highestIndex = firstIndex;
  }

  /** Whether `index` may be accepted: fresh, received already, or too far behind the highest index to tell. */
  check(index: number): ReplayCheck {
    const behind = this.highestIndex - index;
    if (behind < 0) return REPLAY_FRESH;
    if (behind >= REPLAY_WINDOW_PACKETS) return REPLAY_TOO_OLD;
    const bits = behind < 32 ? this.#recentLow >>> behind : this.#recentHigh >>> (behind - 32);
    return (bits & 1) === 0 ? REPLAY_FRESH : REPLAY_DUPLICATE;
  }

  /** Records `index`, which `check` found fresh and which has been authenticated. */
  accept(index: number): void {
    const ahead = index - this.highestIndex;
    if (ahead > 0) {
      if (ahead >= REPLAY_WINDOW_PACKETS) {
        this.#recentHigh = 0;
        this.#recentLow = 0;
      } else if (ahead >= 32) {
        this.#recentHigh = this.#recentLow << (ahead - 32);
        this.#recentLow = 0;
      } else {
        this.#recentHigh = (this.#recentHigh << ahead) | (this.#recentLow >>> (32 - ahead));
        this.#recentLow = this.#recentLow << ahead;
      }
      this.#recentLow |= 1;
      this.highestIndex = index;
      return;
    }
    const behind = -ahead;
    if (behind < 32) this.#recentLow |= 1 << behind;
    else if (behind < REPLAY_WINDOW_PACKETS) this.#recentHigh |= 1 << (behind - 32);
  }
}
