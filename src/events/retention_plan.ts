/**
 * Which finished recordings retention deletes, and whether a limit is still crossed once they are gone. Pure: the
 * caller gives the index rows, the disk's free space and the limits, and carries the plan out.
 *
 * Order: first every finished recording older than its rule's `retain_days` (by its end); then, while the recordings
 * take more than `max_bytes` or the disk has less free space than `min_free_disk`, the oldest finished recording (by
 * its start), each deletion counted as freeing its size. A recording in progress is never planned.
 */

import type { DeleteReason } from "./remove_recording.ts";

export type RetentionReason = Exclude<DeleteReason, "api">;

export interface RetentionRow {
  recordId: string;
  /** Only finished ones (state finished or failed) may go. */
  finished: boolean;
  startedAtMs: number;
  endedAtMs: number | undefined;
  sizeBytes: number;
  /** The `retain_days` of the rule the recording's stream falls under, if it sets one. */
  retainDays: number | undefined;
}

export interface RetentionLimits {
  maxBytes: number | undefined;
  /** Free bytes the disk must keep, with what it has now; undefined when not watched (object storage). */
  disk: { freeBytes: number; minFreeBytes: number } | undefined;
}

export interface RetentionPlan {
  deletions: { recordId: string; reason: RetentionReason }[];
  /** The limit still crossed when nothing more may go: the on_full policy's turn. */
  stillOver: "max_bytes" | "min_free_disk" | undefined;
}

const DAY_MS = 86_400_000;

export function planRetention(rows: readonly RetentionRow[], limits: RetentionLimits, nowMs: number): RetentionPlan {
  const deletions: RetentionPlan["deletions"] = [];
  const gone = new Set<string>();
  let totalBytes = rows.reduce((sum, row) => sum + row.sizeBytes, 0);
  let freeBytes = limits.disk?.freeBytes ?? Infinity;
  const remove = (row: RetentionRow, reason: RetentionReason) => {
    deletions.push({ recordId: row.recordId, reason });
    gone.add(row.recordId);
    totalBytes -= row.sizeBytes;
    freeBytes += row.sizeBytes;
  };

  const finished = rows.filter((row) => row.finished).sort((a, b) =>
    a.startedAtMs - b.startedAtMs || a.recordId.localeCompare(b.recordId)
  );
  for (const row of finished) {
    const endMs = row.endedAtMs ?? row.startedAtMs;
    if (row.retainDays !== undefined && nowMs - endMs > row.retainDays * DAY_MS) remove(row, "retain_days");
  }
  const over = (): RetentionPlan["stillOver"] => {
    if (limits.maxBytes !== undefined && totalBytes > limits.maxBytes) return "max_bytes";
    if (limits.disk !== undefined && freeBytes < limits.disk.minFreeBytes) return "min_free_disk";
    return undefined;
  };
  for (const row of finished) {
    const reason = over();
    if (reason === undefined) break;
    if (!gone.has(row.recordId)) remove(row, reason);
  }
  return { deletions, stillOver: over() };
}
