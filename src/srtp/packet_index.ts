/**
 * SRTP packet index estimation (RFC 3711 §3.3.1 and Appendix A: the 48-bit index ROC · 2^16 + SEQ guessed from the
 * highest index received so far) and a replay window of the last `REPLAY_WINDOW_PACKETS` indices (§3.3.2). SRTCP
 * uses the same window over its explicit 31-bit index.
 */

/**
 * The replay window (RFC 3711 §3.3.2 asks for at least 64): 1024, as libwebrtc sets it, so that a retransmission
 * asked for by NACK still gets in behind a video stream's newer packets (1024 is about 3 s of 2.5 Mbit/s; 64 was
 * under a quarter of a second, less than a busy publisher takes to answer).
 */
export const REPLAY_WINDOW_PACKETS = 1024;
/** The window as bits in 32-bit words, indexed by `index mod REPLAY_WINDOW_PACKETS`. */
const WINDOW_WORDS = REPLAY_WINDOW_PACKETS / 32;

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

/** Which of the last `REPLAY_WINDOW_PACKETS` indices up to the highest one were received. */
export class ReplayWindow {
  /** The highest index accepted. */
  highestIndex: number;
  /** Bit `i mod 32` of word `(i mod REPLAY_WINDOW_PACKETS) / 32` is set once index i of the window is accepted. */
  readonly #received = new Uint32Array(WINDOW_WORDS);

  /** A window whose first accepted index is `firstIndex`. */
  constructor(firstIndex: number) {
    this.highestIndex = firstIndex;
    this.#set(firstIndex);
  }

  /** Whether `index` may be accepted: fresh, received already, or too far behind the highest index to tell. */
  check(index: number): ReplayCheck {
    const behind = this.highestIndex - index;
    if (behind < 0) return REPLAY_FRESH;
    if (behind >= REPLAY_WINDOW_PACKETS) return REPLAY_TOO_OLD;
    const slot = index % REPLAY_WINDOW_PACKETS;
    return ((this.#received[slot >>> 5]! >>> (slot & 31)) & 1) === 0 ? REPLAY_FRESH : REPLAY_DUPLICATE;
  }

  /** Records `index`, which `check` found fresh and which has been authenticated. */
  accept(index: number): void {
    const ahead = index - this.highestIndex;
    if (ahead >= REPLAY_WINDOW_PACKETS) {
      this.#received.fill(0);
    } else {
      // The slots of the indices the window moves over hold bits of indices that leave it.
      for (let skipped = this.highestIndex + 1; skipped < index; skipped++) this.#clear(skipped);
    }
    if (ahead > 0) this.highestIndex = index;
    this.#set(index);
  }

  #set(index: number): void {
    const slot = index % REPLAY_WINDOW_PACKETS;
    this.#received[slot >>> 5]! |= 1 << (slot & 31);
  }

  #clear(index: number): void {
    const slot = index % REPLAY_WINDOW_PACKETS;
    this.#received[slot >>> 5]! &= ~(1 << (slot & 31));
  }
}
