/**
 * Crash recovery at start-up: every recording that was in progress when the service last stopped without
 * finalizing it (its marker is still there) is finished now. Segments a crash left open are cut back to their
 * last complete fragment (or removed when none is complete) and closed; segments closed but not yet indexed are
 * indexed; its FLV file (format "flv") is cut back to its last whole tag and closed under its open name,
 * `{record_dir}/{record_id}.flv` (the end its final name needs is lost with the process); the period is marked
 * finished and the index, a static MPD and finished HLS playlists are written. For
 * object stores the results go through the spool like any other write, and the upload queue takes it from there.
 */

import { periodDurationS, type RecordingIndex, type TrackIndex } from "../manifest/mod.ts";
import { flvWholePrefixBytes, scanSegment } from "../media/mod.ts";
import type { ActiveRecording, RecordingFiles } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import type { Logger } from "../shared/log.ts";
import { INDEX_NAME, parseSegmentName } from "./layout.ts";
import { replaceManifests } from "./manifests.ts";
import { nextNumber, openFlvKey, parseIndex } from "./record_folder.ts";

/** What recovery did to one recording. */
export interface RecoveredRecording {
  recordId: string;
  recordDir: string;
  salvagedSegments: number;
  droppedSegments: number;
  durationS: number;
}

/**
 * Finishes every interrupted recording. One that cannot be recovered now (say, its object store cannot be read) is
 * logged and keeps its marker, so the next start tries again.
 */
export async function recoverRecordings(
  files: RecordingFiles,
  clock: Clock,
  log: Logger,
): Promise<RecoveredRecording[]> {
  const recovered: RecoveredRecording[] = [];
  for (const active of await files.activeRecordings()) {
    try {
      const result = await recoverOne(files, active, clock);
      recovered.push(result);
      log("warn", "recovered a recording interrupted by a crash", { ...result });
    } catch (error) {
      log("error", "could not recover an interrupted recording", { ...active, error: String(error) });
    }
  }
  return recovered;
}

async function recoverOne(files: RecordingFiles, active: ActiveRecording, clock: Clock): Promise<RecoveredRecording> {
  const { recordDir, recordId } = active;
  const indexBytes = await files.read(`${recordDir}/${INDEX_NAME}`);
  const index: RecordingIndex = indexBytes === undefined
    ? { version: 1, streamId: active.streamId, periods: [] }
    : parseIndex(indexBytes);
  // The recording's last period (a spliced recording has several) is the one a crash can leave unfinished.
  let period = index.periods.findLast((p) => p.recordId === recordId);
  if (period === undefined) {
    period = { recordId, startedAt: active.startedAt, status: "recording" };
    index.periods.push(period);
  }
  // Numbers below this belong to the folder's other periods, never to this one.
  const firstFree = nextNumber({ ...index, periods: index.periods.filter((p) => p !== period) });
  const result: RecoveredRecording = { recordId, recordDir, salvagedSegments: 0, droppedSegments: 0, durationS: 0 };

  // Segments left open by the crash, and this recording's FLV file: keep what is complete.
  const flvKey = openFlvKey(recordDir, recordId);
  for (const key of await files.local.openKeys(`${recordDir}/`)) {
    if (key === flvKey) {
      const validBytes = flvWholePrefixBytes(await files.local.readOpen(key));
      await files.local.salvage(key, validBytes);
      if (validBytes > 0) (index.periods.find((p) => p.recordId === recordId) ?? period).flv = key;
      continue;
    }
    if (key.endsWith(".flv")) continue; // another recording's, recovered by its own marker
    const bytes = await files.local.readOpen(key);
    const { validBytes } = scanSegment(bytes);
    await files.local.salvage(key, validBytes);
    if (validBytes === 0) result.droppedSegments++;
  }
  // Segments closed (now or before the crash) that the index does not list yet, in number order.
  const closed = (await files.list(`${recordDir}/`))
    .flatMap((key) => {
      const parsed = parseSegmentName(key.slice(recordDir.length + 1));
      return parsed === undefined ? [] : [{ key, ...parsed }];
    })
    .sort((a, b) => a.number - b.number);
  for (const segment of closed) {
    const track = period[segment.track];
    if (track === undefined || segment.number < Math.max(firstFree, nextNumberOf(track))) continue;
    if (track.segments.length > 0 && segment.number !== nextNumberOf(track)) continue;
    const bytes = await files.read(segment.key);
    if (bytes === undefined) continue;
    const { fragments } = scanSegment(bytes);
    if (fragments.length === 0) continue;
    if (track.segments.length === 0) track.startNumber = segment.number;
    const durationTicks = fragments.reduce((sum, f) => sum + f.durationTicks, 0);
    track.segments.push({ startTicks: fragments[0]!.baseDecodeTimeTicks, durationTicks });
    result.salvagedSegments++;
  }
  period.status = "finished";
  result.durationS = periodDurationS(period);
  await replaceManifests(files, recordDir, index, clock.nowMs());
  await files.clearActive(recordId);
  return result;
}

function nextNumberOf(track: TrackIndex): number {
  return track.segments.length === 0 ? 0 : track.startNumber + track.segments.length;
}
