/**
 * The service's steady-state CPU: read between two samples, one `SKIP_START_S` after every stream is up (past the
 * connection set-up and the JIT's warm-up) and one `SKIP_END_S` before the first stream's media ends (before any
 * finalizing). Issue 9 sets its 1-stream goal on this figure; the whole window's figure is reported beside it.
 */

import { type ProcSample, sampleProcess } from "./proc_stats.ts";

const SKIP_START_S = 10;
const SKIP_END_S = 3;
/** A shorter window gives no figure: the /proc tick (4 ms at HZ 250) and the noise would dominate. */
const MIN_WINDOW_S = 10;

/** The window's two samples, taken on timers that do not keep the bench alive. */
export class SteadyWindow {
  readonly #pid: number;
  readonly #streams: number;
  #samples: Promise<[ProcSample, ProcSample]> | undefined;

  constructor(pid: number, streams: number) {
    this.#pid = pid;
    this.#streams = streams;
  }

  /** Every stream is up now; the first stream's media ends at `mediaEndMs` (`performance.now()` ms). */
  open(mediaEndMs: number): void {
    if (this.#samples !== undefined) return;
    const fromMs = performance.now() + SKIP_START_S * 1000;
    const toMs = mediaEndMs - SKIP_END_S * 1000;
    if (toMs - fromMs < MIN_WINDOW_S * 1000) return;
    this.#samples = Promise.all([this.#sampleAt(fromMs), this.#sampleAt(toMs)]);
    this.#samples.catch(() => {}); // the run's own checks report a service that died
  }

  /** CPU-s per media-minute per stream over the window (publishers send in real time); undefined without one. */
  async cpuSPerMediaMinutePerStream(): Promise<number | undefined> {
    if (this.#samples === undefined) return undefined;
    const [from, to] = await this.#samples;
    return (to.cpuS - from.cpuS) / ((to.atMs - from.atMs) / 60_000) / this.#streams;
  }

  #sampleAt(atMs: number): Promise<ProcSample> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => sampleProcess(this.#pid).then(resolve, reject), atMs - performance.now());
      Deno.unrefTimer(timer);
    });
  }
}
