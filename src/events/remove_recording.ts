/**
 * Deleting a finished recording, for the API and for retention alike: its segments, inits and MP4 through the
 * recorder's delete path (which also rewrites the folder's manifests without it), then its index row; then the
 * webhook `recording.deleted` says why.
 */

import { type Catalog, isTerminal, type RecordingRow } from "../catalog/mod.ts";
import { deleteRecording, type RecordingManager } from "../recorder/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import { ConflictError, NotFoundError } from "../shared/errors.ts";
import type { Logger } from "../shared/log.ts";
import type { WebhookOutbox } from "./webhooks.ts";

export interface RemoveDeps {
  catalog: Catalog;
  files: RecordingFiles;
  clock: Clock;
  manager: Pick<RecordingManager, "list">;
  log: Logger;
  outbox?: WebhookOutbox | undefined;
}

/** Why a recording was deleted: through the API, or by a retention limit. */
export type DeleteReason = "api" | "retain_days" | "max_bytes" | "min_free_disk";

/** Deletes `row`'s recording; answers how many objects went. ConflictError while it is still running. */
export async function removeRecording(deps: RemoveDeps, row: RecordingRow, reason: DeleteReason): Promise<number> {
  // The row turns finished only once the recording's end is fully handled (last segments, MP4 merge); a recording
  // rotated away from, or merging, is no longer in the manager's list but still being written.
  if (!isTerminal(row.state) || deps.manager.list().some((r) => r.recordId === row.recordId)) {
    throw new ConflictError(`recording "${row.recordId}" is still running; stop it first`);
  }
  const extra = row.mp4Path === undefined ? [] : [row.mp4Path];
  const objects = await deleteRecording(deps.files, deps.clock, row.recordDir, row.recordId, extra).catch((error) => {
    // Objects already gone (deleted by hand): the row goes anyway.
    if (error instanceof NotFoundError) return 0;
    throw error;
  });
  deps.catalog.remove(row.recordId);
  deps.outbox?.emit("recording.deleted", {
    record_id: row.recordId,
    stream: row.stream,
    reason,
    size_bytes: row.sizeBytes,
    started_at: row.startedAt,
    ended_at: row.endedAt ?? null,
  }).catch((error) => deps.log("error", "webhook not queued", { type: "recording.deleted", error: String(error) }));
  return objects;
}
