/**
 * What happens around a recording's life besides its media: every step is written to the recordings index and
 * sent as a webhook, and a finished recording whose formats include "mp4" is merged into one progressive MP4 first,
 * so that the index row and the `recording.finished` event name it. A merge that fails is logged, the recording is
 * marked failed and `recording.failed` says why; its segments and manifests stay as they are.
 */

import { type Catalog, MAX_PAGE_LIMIT, type RecordingInput } from "../catalog/mod.ts";
import { renderTemplate } from "../config/mod.ts";
import { recordingMp4 } from "../export/mod.ts";
import { INDEX_NAME, parseIndex, type RecordingObserver, type RecordingView, viewJson } from "../recorder/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import type { Logger } from "../shared/log.ts";
import type { EventType, WebhookOutbox } from "./webhooks.ts";
import { errorMessage } from "../shared/errors.ts";
import { atNextGridPoint, type GridTimer } from "../shared/aligned_timer.ts";

/** How long a segment's change to its recording's row may wait, so that all recordings' changes share a commit. */
const SEGMENT_SAVE_PERIOD_MS = 1000;

export interface RecordingEventsOptions {
  catalog: Catalog;
  outbox: WebhookOutbox | undefined;
  files: RecordingFiles;
  log: Logger;
  nodeAlias: string | undefined;
}

/**
 * The observer to give the RecordingManager, and `idle()`, which waits for finishing work (merges) under way and
 * writes the segment updates still waiting.
 */
export function recordingEvents(opts: RecordingEventsOptions): { observer: RecordingObserver; idle(): Promise<void> } {
  const { catalog, outbox, files, log, nodeAlias } = opts;
  const finishing = new Set<Promise<void>>();

  /** Segment updates not yet written, by record id: each is superseded by a later one of its recording. */
  const unsaved = new Map<string, RecordingView>();
  let saveTimer: GridTimer | undefined;
  const saveUnsaved = (): void => {
    saveTimer?.clear();
    saveTimer = undefined;
    const views = [...unsaved.values()];
    unsaved.clear();
    if (views.length === 0) return;
    try {
      catalog.upsertAll(views.map((view) => row(view, view.state, nodeAlias, undefined)));
    } catch (error) {
      log("error", "recordings index update failed", {
        recordIds: views.map((view) => view.recordId),
        error: String(error),
      });
    }
  };
  const save = (view: RecordingView, state: RecordingInput["state"] = view.state, mp4Path?: string): void => {
    unsaved.delete(view.recordId);
    try {
      catalog.upsert(row(view, state, nodeAlias, mp4Path));
    } catch (error) {
      log("error", "recordings index update failed", { recordId: view.recordId, error: String(error) });
    }
  };
  /**
   * A new segment changes only the row's size, segment count and duration: those are written on the next grid point
   * (`SEGMENT_SAVE_PERIOD_MS`), every recording's in one commit: each commit syncs the catalog file, on the event loop.
   */
  const saveSoon = (view: RecordingView): void => {
    unsaved.set(view.recordId, view);
    saveTimer ??= atNextGridPoint(SEGMENT_SAVE_PERIOD_MS, saveUnsaved);
  };
  const send = (type: EventType, data: Record<string, unknown>): void => {
    outbox?.emit(type, data).catch((error) => {
      log("error", "webhook not queued", { type, error: String(error) });
    });
  };

  const observer: RecordingObserver = {
    started(view) {
      save(view);
      send("recording.started", eventData(view, nodeAlias));
    },
    segment(view, segment) {
      saveSoon(view);
      send("recording.segment", {
        record_id: view.recordId,
        stream: view.streamId,
        track: segment.track,
        key: segment.key,
        number: segment.number,
        duration_s: segment.durationS,
        size_bytes: segment.sizeBytes,
      });
    },
    waiting(view) {
      save(view);
    },
    spliced(view) {
      save(view);
      send("recording.spliced", eventData(view, nodeAlias));
    },
    rotated(from, to) {
      send("recording.rotated", { from: eventData(from, nodeAlias), to: eventData(to, nodeAlias) });
    },
    finished(view) {
      const done = (async () => {
        let failure: string | undefined;
        let mp4Path: string | undefined;
        if (view.settings.formats.includes("mp4") && view.segments > 0) {
          try {
            mp4Path = await mergeMp4(files, view);
          } catch (error) {
            failure = `MP4 merge failed: ${errorMessage(error)}`;
            log("error", "MP4 merge failed", { recordId: view.recordId, error: failure });
          }
        }
        if (view.segments === 0 && view.storageErrors > 0) failure = `nothing stored: ${view.lastStorageError}`;
        const state = failure === undefined ? "finished" : "failed";
        save(view, state, mp4Path);
        const data = { ...eventData(view, nodeAlias), state, mp4_path: mp4Path ?? null };
        send(failure === undefined ? "recording.finished" : "recording.failed", { ...data, error: failure ?? null });
      })();
      finishing.add(done);
      void done.finally(() => finishing.delete(done));
    },
  };
  const idle = async () => {
    await Promise.allSettled([...finishing]);
    saveUnsaved();
  };
  return { observer, idle };
}

/**
 * After a restart: index rows a crash left recording or waiting are finished, with the duration recovery found
 * (`recovered`, by record id) when it handled them, and `recording.finished` is sent for each. Rows of recordings
 * whose recovery is `pending` (it failed this time and runs again at the next start) are left as they are.
 */
export function settleInterrupted(
  catalog: Catalog,
  outbox: WebhookOutbox | undefined,
  recovered: ReadonlyMap<string, number>,
  pending: ReadonlySet<string>,
  nowIso: string,
): number {
  const open = [
    ...catalog.list({ state: "recording", limit: MAX_PAGE_LIMIT }),
    ...catalog.list({ state: "waiting", limit: MAX_PAGE_LIMIT }),
  ].filter((row) => !pending.has(row.recordId));
  for (const row of open) {
    const { updatedAt: _, ...input } = row;
    const settled = catalog.upsert({
      ...input,
      state: "finished",
      endedAt: row.endedAt ?? nowIso,
      durationS: recovered.get(row.recordId) ?? row.durationS,
    });
    void outbox?.emit("recording.finished", {
      record_id: settled.recordId,
      stream: settled.stream,
      record_dir: settled.recordDir,
      mpd_path: settled.mpdPath,
      duration_s: settled.durationS,
      ended_at: settled.endedAt ?? null,
      node_alias: settled.nodeAlias ?? null,
      recovered_after_crash: true,
    }).catch(() => {});
  }
  return open.length;
}

/** Writes recording `view` as one progressive MP4 at its rendered mp4_template path; answers that path. */
async function mergeMp4(files: RecordingFiles, view: RecordingView): Promise<string> {
  const indexBytes = await files.read(`${view.recordDir}/${INDEX_NAME}`);
  if (indexBytes === undefined) throw new Error(`${view.recordDir}/${INDEX_NAME} is missing`);
  const periods = parseIndex(indexBytes).periods
    .filter((period) => period.recordId === view.recordId)
    .map((period) => ({ recordDir: view.recordDir, period }));
  const mp4 = await recordingMp4((key) => files.read(key), periods);
  const key = renderTemplate(view.settings.mp4Template, {
    stream: view.streamId,
    recordId: view.recordId,
    startMs: Date.parse(view.startedAt),
    endMs: Date.parse(view.endedAt ?? view.startedAt),
    recordDir: view.recordDir,
  });
  await files.replace(key, mp4);
  return key;
}

function row(
  view: RecordingView,
  state: RecordingInput["state"],
  nodeAlias: string | undefined,
  mp4Path: string | undefined,
): RecordingInput {
  return {
    recordId: view.recordId,
    stream: view.streamId,
    recordDir: view.recordDir,
    mpdPath: view.mpdPath,
    hlsPath: view.hlsPath ?? "",
    mp4Path,
    tsPath: view.tsPath,
    flvPath: view.flvPath,
    startedAt: view.startedAt,
    endedAt: view.endedAt,
    durationS: view.durationS,
    state,
    sizeBytes: view.sizeBytes,
    segments: view.segments,
    codecs: view.codecs,
    nodeAlias,
    periods: view.periods,
  };
}

/** The common body of recording events: the recording as the status API shows it, and the node. */
function eventData(view: RecordingView, nodeAlias: string | undefined): Record<string, unknown> {
  return { ...viewJson(view), node_alias: nodeAlias ?? null };
}
