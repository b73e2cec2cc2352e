/**
 * Deleting a finished recording: its periods' init and media segments leave the folder, its periods leave the
 * folder's index, and the manifests are rendered again from what is left (or removed with the index when nothing
 * is). Other recordings in the folder keep their objects, numbers and names.
 */

import { type PeriodIndex, type RecordingIndex } from "../manifest/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import type { Clock } from "../shared/clock.ts";
import { NotFoundError } from "../shared/errors.ts";
import {
  HLS_MEDIA_NAME,
  HLS_MULTIVARIANT_NAME,
  HLS_TS_NAME,
  INDEX_NAME,
  MANIFEST_NAME,
  segmentName,
} from "./layout.ts";
import { renderManifests, replaceManifests } from "./manifests.ts";
import { parseIndex } from "./record_folder.ts";

/** Every manifest a record folder can hold, the index last. */
const FOLDER_FILES = [MANIFEST_NAME, HLS_MULTIVARIANT_NAME, ...Object.values(HLS_MEDIA_NAME), HLS_TS_NAME, INDEX_NAME];

/** Removes recording `recordId` from `recordDir`, plus `extraKeys` (its MP4); answers how many objects went. */
export async function deleteRecording(
  files: RecordingFiles,
  clock: Clock,
  recordDir: string,
  recordId: string,
  extraKeys: readonly string[] = [],
): Promise<number> {
  const bytes = await files.read(`${recordDir}/${INDEX_NAME}`);
  const index: RecordingIndex | undefined = bytes === undefined ? undefined : parseIndex(bytes);
  const mine = index?.periods.filter((p) => p.recordId === recordId) ?? [];
  if (index === undefined || mine.length === 0) {
    throw new NotFoundError(`recording "${recordId}" is not in ${recordDir}/${INDEX_NAME}`);
  }
  const rest: RecordingIndex = { ...index, periods: index.periods.filter((p) => p.recordId !== recordId) };
  // The index first: a crash halfway leaves unlisted objects behind, never a manifest naming deleted ones.
  const rendered = rest.periods.length > 0 ? await replaceManifests(files, recordDir, rest, clock.nowMs()) : [];
  // With nothing left, every folder file goes (the index last); else what only this recording rendered (a playlist of
  // a track or format the rest lacks).
  const stale = rest.periods.length === 0
    ? FOLDER_FILES
    : renderManifests(index, new Date(clock.nowMs()).toISOString()).map(({ name }) => name)
      .filter((name) => !rendered.includes(name));
  const keys = [
    ...mine.flatMap(objectNames).map((name) => `${recordDir}/${name}`),
    ...mine.flatMap((p) => p.flv ?? []),
    ...extraKeys,
    ...stale.map((name) => `${recordDir}/${name}`),
  ];
  for (const key of keys) await files.delete(key);
  return keys.length;
}

/** The init, media and MPEG-TS segment names of one period, relative to its folder. */
function objectNames(period: PeriodIndex): string[] {
  const names: string[] = [];
  for (const kind of ["video", "audio"] as const) {
    const track = period[kind];
    if (track === undefined) continue;
    names.push(track.init);
    track.segments.forEach((_, i) => names.push(segmentName(kind, track.startNumber + i)));
  }
  for (const segment of period.ts?.segments ?? []) names.push(segment.name);
  return names;
}
