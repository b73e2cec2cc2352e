/** `[recorder.retention]`: how much finished recordings may take, and what happens when nothing more can go. */

import { describe, type Section } from "./section.ts";

export interface RetentionConfig {
  /** Most bytes the recordings may take in all (running ones included); undefined: no limit. */
  maxBytes: number | undefined;
  /** Least free space left on the storage root's disk (fs storage): bytes, or a share of the disk. */
  minFreeDisk: { bytes: number } | { percent: number } | undefined;
  /** When a limit is still crossed after every finished recording that may go is gone. */
  onFull: "refuse_new" | "stop_oldest_running";
  /** Only log what would be deleted. */
  dryRun: boolean;
  /** How often the limits are checked, in seconds (also once at start). */
  intervalS: number;
}

const ON_FULL: readonly RetentionConfig["onFull"][] = ["refuse_new", "stop_oldest_running"];
const DEFAULT_INTERVAL_S = 300;
const MAX_INTERVAL_S = 86_400;

export function parseRetention(section: Section): RetentionConfig {
  section.rejectUnknownKeys(["max_bytes", "min_free_disk", "on_full", "dry_run", "interval"]);
  const maxBytes = section.number("max_bytes");
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes > 0)) {
    throw section.error("max_bytes", `must be a whole number of bytes above 0, got ${describe(maxBytes)}`);
  }
  const onFull = section.string("on_full") ?? "refuse_new";
  const policy = ON_FULL.find((known) => known === onFull);
  if (policy === undefined) {
    throw section.error("on_full", `must be "refuse_new" or "stop_oldest_running", got ${describe(onFull)}`);
  }
  const intervalS = section.number("interval") ?? DEFAULT_INTERVAL_S;
  if (!(intervalS >= 1 && intervalS <= MAX_INTERVAL_S)) {
    throw section.error("interval", `must be between 1 and ${MAX_INTERVAL_S} seconds, got ${describe(intervalS)}`);
  }
  return {
    maxBytes,
    minFreeDisk: parseMinFreeDisk(section),
    onFull: policy,
    dryRun: section.boolean("dry_run") ?? false,
    intervalS,
  };
}

/** `min_free_disk`: a whole number of bytes, or a percentage of the disk as a string ("10%"). */
function parseMinFreeDisk(section: Section): RetentionConfig["minFreeDisk"] {
  if (!section.has("min_free_disk")) return undefined;
  const value = section.value("min_free_disk");
  if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) return { bytes: value };
  const percent = typeof value === "string" ? /^(\d{1,2}(?:\.\d+)?)%$/.exec(value.trim()) : null;
  if (percent !== null && Number(percent[1]) > 0) return { percent: Number(percent[1]) };
  throw section.error(
    "min_free_disk",
    `must be a whole number of bytes, or a percentage of the disk below 100 ("10%"), got ${describe(value)}`,
  );
}
