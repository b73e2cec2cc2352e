/** A recording's view in the API's snake_case: what the status route and the webhooks both say of a recording. */

import type { RecordingView } from "./manager.ts";

/** The fields of `view` every answer and event about a recording carries; absent values are `null`. */
export function viewJson(view: RecordingView): Record<string, unknown> {
  return {
    record_id: view.recordId,
    stream: view.streamId,
    record_dir: view.recordDir,
    mpd_path: view.mpdPath,
    hls_path: view.hlsPath ?? null,
    ts_path: view.tsPath ?? null,
    flv_path: view.flvPath ?? null,
    format_problems: view.formatProblems,
    state: view.state,
    started_at: view.startedAt,
    ended_at: view.endedAt ?? null,
    duration_s: view.durationS,
    periods: view.periods,
    segments: view.segments,
    size_bytes: view.sizeBytes,
    codecs: view.codecs,
    reason: view.reason,
  };
}
