/**
 * What a record folder's index renders to: index.json itself, the DASH MPD and the HLS playlists, named and in the
 * order they are to be written. Shared by the record folder, crash recovery and deletion; `replaceManifests` writes
 * them for the two that let a failed write throw (the record folder counts and logs its own).
 */

import {
  hasTsSegments,
  hlsTracks,
  type RecordingIndex,
  renderHlsMedia,
  renderHlsMultivariant,
  renderHlsTs,
  renderMpd,
} from "../manifest/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import { HLS_MEDIA_NAME, HLS_MULTIVARIANT_NAME, HLS_TS_NAME, INDEX_NAME, MANIFEST_NAME } from "./layout.ts";

/** How often a live (dynamic) MPD asks players to reload it, in seconds. */
const MANIFEST_UPDATE_PERIOD_S = 2;
/**
 * Where a live MPD sends players for the time (the service's `GET /api/time`): relative to the MPD's origin, so that
 * dash.js does not ask its default time server on the internet, which an offline box cannot reach.
 */
const TIME_URL = "/api/time";

/** One object of a record folder, named relative to the folder. */
export interface RenderedFile {
  name: string;
  text: string;
}

/**
 * The folder's mutable objects rendered from `index` at wall-clock time `nowIso`, in write order: the index first
 * (it is what a restart reads), then manifest.mpd, then (unless `hls` is false) a media playlist per track that has
 * segments, then the multivariant playlist naming them, then the MPEG-TS playlist once the index lists a TS
 * segment. Writing them in this order and stopping at the first failure never leaves a playlist naming one that was
 * not written. Before any track has a segment there is only the index: an MPD needs at least one Period, and dash.js
 * fails on one without.
 */
export function renderManifests(index: RecordingIndex, nowIso: string, { hls = true } = {}): RenderedFile[] {
  const withMedia = hlsTracks(index);
  if (withMedia.length === 0) return [{ name: INDEX_NAME, text: JSON.stringify(index) }];
  const tracks = hls ? withMedia : [];
  return [
    { name: INDEX_NAME, text: JSON.stringify(index) },
    {
      name: MANIFEST_NAME,
      text: renderMpd(index, { nowIso, minimumUpdatePeriodS: MANIFEST_UPDATE_PERIOD_S, utcTimingUrl: TIME_URL }),
    },
    ...tracks.map((track) => ({ name: HLS_MEDIA_NAME[track], text: renderHlsMedia(index, track) })),
    ...(tracks.length === 0 ? [] : [{
      name: HLS_MULTIVARIANT_NAME,
      text: renderHlsMultivariant(index, { videoUri: HLS_MEDIA_NAME.video, audioUri: HLS_MEDIA_NAME.audio }),
    }]),
    ...(hasTsSegments(index) ? [{ name: HLS_TS_NAME, text: renderHlsTs(index) }] : []),
  ];
}

/**
 * Renders `index` at `nowMs` and replaces the objects of `recordDir` in one go; a failed write throws. Answers the
 * names written, so that a caller can remove the folder's manifests that `index` no longer renders.
 */
export async function replaceManifests(
  files: RecordingFiles,
  recordDir: string,
  index: RecordingIndex,
  nowMs: number,
): Promise<string[]> {
  const rendered = renderManifests(index, new Date(nowMs).toISOString());
  await files.replaceAll(
    rendered.map(({ name, text }) => ({ key: `${recordDir}/${name}`, bytes: new TextEncoder().encode(text) })),
  );
  return rendered.map(({ name }) => name);
}
