/** Where a recording's objects go: the seed's `/:streamId/YYYY/MM/DD/` layout and its file names. */

/** The default record folder of a stream for the UTC day of `nowMs`. */
export function dailyRecordDir(streamId: string, nowMs: number): string {
  const date = new Date(nowMs);
  const yyyy = String(date.getUTCFullYear()).padStart(4, "0");
  const mm = String(date.getUTCMonth() + 1).padStart(2, "0");
  const dd = String(date.getUTCDate()).padStart(2, "0");
  return `${streamId}/${yyyy}/${mm}/${dd}`;
}

export const MANIFEST_NAME = "manifest.mpd";
export const INDEX_NAME = "index.json";
/** The HLS multivariant playlist (RFC 8216 §4.3.4), beside the MPD. */
export const HLS_MULTIVARIANT_NAME = "index.m3u8";
/** The HLS media playlist over the MPEG-TS segments (format "ts"). */
export const HLS_TS_NAME = "ts.m3u8";
/** The HLS media playlist of each track (RFC 8216 §4.3.3). */
export const HLS_MEDIA_NAME = { video: "video.m3u8", audio: "audio.m3u8" } as const;

/** DASH SegmentTemplate patterns of the two tracks (ISO/IEC 23009-1 §5.3.9.4.4). */
export const MEDIA_PATTERN = { video: "seg_$Number%04d$.m4s", audio: "audio_seg_$Number%04d$.m4s" } as const;

/** The track and number of a segment object name (the inverse of `segmentName`), or undefined for other names. */
export function parseSegmentName(name: string): { track: "video" | "audio"; number: number } | undefined {
  const match = /^(audio_)?seg_(\d+)\.m4s$/.exec(name);
  return match === null ? undefined : { track: match[1] === undefined ? "video" : "audio", number: Number(match[2]) };
}

/** The object name of segment `number` of a track. */
export function segmentName(track: "video" | "audio", number: number): string {
  return `${track === "video" ? "seg_" : "audio_seg_"}${String(number).padStart(4, "0")}.m4s`;
}

/**
 * The init segment name of the `periodNumber`-th recording (1-based) in a folder: the seed's names for the first,
 * numbered ones after it, so that a later recording with other codec settings never overwrites an earlier one's.
 */
export function initName(track: "video" | "audio", periodNumber: number): string {
  const base = track === "video" ? "init" : "audio_init";
  return periodNumber === 1 ? `${base}.m4s` : `${base}_${periodNumber}.m4s`;
}

/** The period number of an init segment name (the inverse of `initName`), or undefined for other names. */
export function parseInitName(name: string): number | undefined {
  const match = /^(?:audio_)?init(?:_(\d+))?\.m4s$/.exec(name);
  return match === null ? undefined : Number(match[1] ?? 1);
}
