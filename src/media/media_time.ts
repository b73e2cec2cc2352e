/**
 * Exact arithmetic on media times of different timescales (90 kHz video, 48 kHz audio, a 1 kHz movie clock): rescaling
 * with an explicit rounding and comparing without floating point. Pure; it knows nothing of wall-clock time.
 */

/** A point in time as `ticks` of a clock running at `timescale` ticks per second. */
export interface MediaTime {
  ticks: number;
  timescale: number;
}

/** How `rescaleTicks` rounds a result that falls between two ticks of the target timescale. */
export type Rounding = "floor" | "ceil" | "round";

/** `ticks` of `fromTimescale` in ticks of `toTimescale`, rounded as asked (half away from zero for "round"); exact
 * for any safe integers because the product is taken in BigInt. */
export function rescaleTicks(ticks: number, fromTimescale: number, toTimescale: number, rounding: Rounding): number {
  if (fromTimescale === toTimescale) return ticks;
  return divide(BigInt(ticks) * BigInt(toTimescale), BigInt(fromTimescale), rounding);
}

/** Negative, zero or positive as `a` is before, at or after `b`. */
export function compareTimes(a: MediaTime, b: MediaTime): number {
  const left = BigInt(a.ticks) * BigInt(b.timescale);
  const right = BigInt(b.ticks) * BigInt(a.timescale);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** `a - b` in ticks of `timescale`, rounded as asked; exact (one BigInt division) whatever the three timescales. */
export function differenceTicks(a: MediaTime, b: MediaTime, timescale: number, rounding: Rounding): number {
  const numerator = (BigInt(a.ticks) * BigInt(b.timescale) - BigInt(b.ticks) * BigInt(a.timescale)) *
    BigInt(timescale);
  return divide(numerator, BigInt(a.timescale) * BigInt(b.timescale), rounding);
}

/** numerator / denominator (denominator > 0) as a number, rounded as asked. */
function divide(numerator: bigint, denominator: bigint, rounding: Rounding): number {
  let quotient = numerator / denominator; // truncates toward zero
  const remainder = numerator % denominator;
  if (remainder !== 0n) {
    const isNegative = remainder < 0n;
    if (rounding === "floor" && isNegative) quotient -= 1n;
    else if (rounding === "ceil" && !isNegative) quotient += 1n;
    else if (rounding === "round" && (isNegative ? -remainder : remainder) * 2n >= denominator) {
      quotient += isNegative ? -1n : 1n;
    }
  }
  return Number(quotient);
}
