/**
 * A cumulative latency histogram with fixed buckets, for metrics (Prometheus histograms): counts only ever grow.
 * Pure: the caller measures, this only counts.
 */

/** Upper bounds of the buckets, in seconds: 100 µs to 10 s, a disk's fast and slow days. */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.0001,
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  10,
];

/** What a histogram holds: per bucket the observations at or below its bound, then the count and the sum. */
export interface HistogramSnapshot {
  /** `[bound in seconds, observations <= bound]`, cumulative, in bucket order. */
  buckets: [number, number][];
  count: number;
  sumS: number;
}

export class LatencyHistogram {
  readonly #counts = new Array<number>(LATENCY_BUCKETS_S.length).fill(0);
  #count = 0;
  #sumS = 0;

  /** Counts one observation of `ms` milliseconds. */
  observeMs(ms: number): void {
    const seconds = Math.max(0, ms) / 1000;
    this.#count++;
    this.#sumS += seconds;
    const bucket = LATENCY_BUCKETS_S.findIndex((bound) => seconds <= bound);
    if (bucket >= 0) this.#counts[bucket]!++;
  }

  snapshot(): HistogramSnapshot {
    let cumulative = 0;
    const buckets = LATENCY_BUCKETS_S.map((bound, i): [number, number] => [bound, cumulative += this.#counts[i]!]);
    return { buckets, count: this.#count, sumS: this.#sumS };
  }
}
