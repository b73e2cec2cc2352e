/** Wall-clock time, injected wherever the I/O shell needs "now" so that tests can drive it. */

/** A source of Unix milliseconds. */
export interface Clock {
  nowMs(): number;
}

/** The real clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };
