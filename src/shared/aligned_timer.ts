/**
 * Timers on one grid: a callback due at a multiple of its period on the wall clock (`Date.now()`), all of them behind
 * a single runtime timer, so that the UDP polls (200 ms), the manager's check, the receiver reports and the
 * watchdogs (1 s) run in the same wake-up rather than each in its own. At light load the wake-ups, not the work, are
 * the process's cost (about 300 µs of CPU each on the 2-core test VM).
 */

/** A cancellable timer on the grid. */
export interface GridTimer {
  clear(): void;
}

interface Entry {
  /** Unix ms: a multiple of the entry's period. */
  atMs: number;
  run: () => void;
  cleared: boolean;
}

/**
 * The entries not yet run, some of them cleared. A new array each time the timer fires: a long-lived Set or Map that
 * grows and shrinks on every callback gets its tables reallocated in V8's old generation, which only a full
 * collection frees.
 */
let entries: Entry[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
let armedAtMs = Infinity;

/** The multiple of `periodMs` after the one nearest to `nowMs`: a callback run a little early or late is not rerun. */
export function nextGridPointMs(periodMs: number, nowMs: number): number {
  return (Math.round(nowMs / periodMs) + 1) * periodMs;
}

/** Runs `callback` once, at the first multiple of `periodMs` after now. */
export function atNextGridPoint(periodMs: number, callback: () => void): GridTimer {
  return schedule((Math.floor(Date.now() / periodMs) + 1) * periodMs, callback);
}

/** Runs `callback` at every multiple of `periodMs` until cleared. */
export function setAlignedInterval(callback: () => void, periodMs: number): GridTimer {
  let next: GridTimer;
  const tick = () => {
    next = schedule(nextGridPointMs(periodMs, Date.now()), tick);
    callback();
  };
  next = atNextGridPoint(periodMs, tick);
  return { clear: () => next.clear() };
}

function schedule(atMs: number, run: () => void): GridTimer {
  const entry: Entry = { atMs, run, cleared: false };
  entries.push(entry);
  arm();
  return {
    clear() {
      if (entry.cleared) return;
      entry.cleared = true;
      arm();
    },
  };
}

/** How many callbacks wait on the grid: what keeps the process waking up. */
export function armedGridTimers(): number {
  return entries.filter((entry) => !entry.cleared).length;
}

/** Points the one runtime timer at the earliest entry. */
function arm(): void {
  let earliestMs = Infinity;
  for (const entry of entries) if (!entry.cleared) earliestMs = Math.min(earliestMs, entry.atMs);
  if (earliestMs === Infinity) entries = [];
  if (earliestMs === armedAtMs) return;
  clearTimeout(timer);
  timer = undefined;
  armedAtMs = earliestMs;
  if (earliestMs === Infinity) return;
  timer = setTimeout(fire, Math.max(0, earliestMs - Date.now()));
}

/** Runs every entry due by now (a millisecond of slack: the runtime's timer may fire just before its time). */
function fire(): void {
  timer = undefined;
  armedAtMs = Infinity;
  const nowMs = Date.now();
  const due: Entry[] = [];
  const later: Entry[] = [];
  for (const entry of entries) if (!entry.cleared) (entry.atMs <= nowMs + 1 ? due : later).push(entry);
  entries = later;
  for (const entry of due) {
    if (entry.cleared) continue; // by a callback before it
    entry.cleared = true;
    try {
      entry.run();
    } catch (error) {
      // Thrown as from a timer of its own, without keeping the other callbacks from running.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
  arm();
}
