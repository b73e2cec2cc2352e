/**
 * Renders a recording index as HLS playlists (RFC 8216) over the same fMP4 (CMAF) segments the DASH MPD lists: one
 * media playlist per track and a multivariant playlist tying them together. Each recording is a run of segments
 * behind its own EXT-X-MAP, after an EXT-X-DISCONTINUITY and an EXT-X-PROGRAM-DATE-TIME. Pure: it neither writes
 * the playlists nor decides when to, and it renders no DASH.
 */

import { assert } from "../shared/assert.ts";
import {
  checkIndex,
  expandNumberTemplate,
  hasSegments,
  isoMs,
  nonEmptyTracks,
  type RecordingIndex,
  type TrackIndex,
  type TsIndex,
} from "./recording_index.ts";

/** Which track a media playlist carries. */
export type HlsTrack = "video" | "audio";

/** Options of renderHlsMultivariant: where the media playlists are, relative to the multivariant playlist. */
export interface HlsMultivariantOptions {
  videoUri: string;
  audioUri: string;
}

/** EXT-X-MAP outside an I-frame playlist needs 6 (RFC 8216 §7); 7 is what fMP4 playlists conventionally carry. */
const PROTOCOL_VERSION = 7;
const AUDIO_GROUP_ID = "audio";

/**
 * The tracks that get a media playlist: those with a segment in some recording, video first. Like the MPD, which
 * leaves out tracks without segments, so a multivariant playlist never names an empty media playlist.
 */
export function hlsTracks(index: RecordingIndex): HlsTrack[] {
  return (["video", "audio"] as const).filter((kind) => index.periods.some((p) => hasSegments(p[kind])));
}

/** An object name relative to the playlist as a URI reference (RFC 3986): each path segment percent-encoded. */
function uri(name: string): string {
  return name.split("/").map(encodeURIComponent).join("/");
}

/** A quoted-string attribute value (RFC 8216 §4.2), which has no escapes: a double quote or line break is a bug. */
function quoted(value: string): string {
  assert(!/["\r\n]/.test(value), `${JSON.stringify(value)} cannot be an HLS quoted-string`);
  return `"${value}"`;
}

/** Media time in whole milliseconds. */
function ticksToMs(ticks: number, timescale: number): number {
  return Math.round((ticks * 1000) / timescale);
}

/**
 * Each segment's start and EXTINF duration in whole milliseconds of the recording's media time. A segment lasts
 * until the next one starts, so a gap is played over rather than shifting every later segment, and the durations
 * are differences of rounded positions, so rounding never accumulates over a long recording.
 */
function segmentTimesMs(track: Pick<TrackIndex, "segments" | "timescale">): { startMs: number; durationMs: number }[] {
  return track.segments.map((s, i) => {
    const next = track.segments[i + 1];
    const startMs = ticksToMs(s.startTicks, track.timescale);
    const endTicks = next === undefined ? s.startTicks + s.durationTicks : next.startTicks;
    return { startMs, durationMs: ticksToMs(endTicks, track.timescale) - startMs };
  });
}

/**
 * EXT-X-TARGETDURATION (RFC 8216 §4.3.3.1): the longest EXTINF of any track of any recording, rounded up to whole
 * seconds and at least 1, so that the playlists of one index all agree.
 */
function targetDurationS(index: RecordingIndex): number {
  let longestMs = 0;
  for (const period of index.periods) {
    for (const track of nonEmptyTracks(period)) {
      for (const { durationMs } of segmentTimesMs(track)) longestMs = Math.max(longestMs, durationMs);
    }
  }
  return Math.max(1, Math.ceil(longestMs / 1000));
}

/**
 * The media playlist of `track` (RFC 8216 §4.3.3). PLAYLIST-TYPE is EVENT throughout: a day's folder only ever
 * grows, and a later recording may follow a finished one. EXT-X-ENDLIST is there when the last recording has
 * finished. Each recording that has segments of any track counts one discontinuity, in every media playlist, so
 * that matching recordings carry the same Discontinuity Sequence Number (§4.3.3.3) even when one lacks this track:
 * the missing recording's EXT-X-DISCONTINUITY is repeated before the next one that has it.
 */
export function renderHlsMedia(index: RecordingIndex, track: HlsTrack): string {
  checkIndex(index);
  const live = index.periods[index.periods.length - 1]?.status === "recording";
  const periods = index.periods.filter((p) => nonEmptyTracks(p).length > 0);
  const body: string[] = [];
  let firstNumber: number | undefined;
  let firstDiscontinuity = 0;
  let lastListed: number | undefined;
  periods.forEach((period, i) => {
    const t = period[track];
    if (!hasSegments(t)) return;
    if (lastListed === undefined) {
      firstNumber = t.startNumber;
      firstDiscontinuity = i;
    } else {
      for (let k = lastListed; k < i; k++) body.push("#EXT-X-DISCONTINUITY");
    }
    lastListed = i;
    const times = segmentTimesMs(t);
    body.push(`#EXT-X-MAP:URI=${quoted(uri(t.init))}`);
    const periodStartMs = isoMs(period.startedAt, "startedAt") - ticksToMs(t.presentationTimeOffset ?? 0, t.timescale);
    body.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(periodStartMs + (times[0]?.startMs ?? 0)).toISOString()}`);
    times.forEach(({ durationMs }, n) => {
      body.push(`#EXTINF:${(durationMs / 1000).toFixed(3)},`);
      body.push(uri(expandNumberTemplate(t.media, t.startNumber + n)));
    });
  });
  const lines = [
    "#EXTM3U",
    `#EXT-X-VERSION:${PROTOCOL_VERSION}`,
    `#EXT-X-TARGETDURATION:${targetDurationS(index)}`,
    `#EXT-X-MEDIA-SEQUENCE:${firstNumber ?? 0}`,
    ...(firstDiscontinuity > 0 ? [`#EXT-X-DISCONTINUITY-SEQUENCE:${firstDiscontinuity}`] : []),
    "#EXT-X-PLAYLIST-TYPE:EVENT",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    ...body,
    ...(live ? [] : ["#EXT-X-ENDLIST"]),
  ];
  return `${lines.join("\n")}\n`;
}

/** EXTINF with a decimal duration needs 3 (RFC 8216 §7); MPEG-TS segments need nothing later. */
const TS_PROTOCOL_VERSION = 3;

/** Whether `ts` exists and has at least one segment. */
function hasTs(ts: TsIndex | undefined): ts is TsIndex {
  return ts !== undefined && ts.segments.length > 0;
}

/** Whether any recording of `index` has MPEG-TS segments: only then is there a TS playlist to write. */
export function hasTsSegments(index: RecordingIndex): boolean {
  return index.periods.some((p) => hasTs(p.ts));
}

/**
 * The MPEG-TS media playlist (RFC 8216 §4.3.3) over the `ts` segments of every recording: video and audio muxed in
 * each segment, so it is played on its own, with no multivariant playlist. Each recording's run of segments follows
 * an EXT-X-DISCONTINUITY (after the first) and an EXT-X-PROGRAM-DATE-TIME; EVENT and EXT-X-ENDLIST as in the fMP4
 * playlists.
 */
export function renderHlsTs(index: RecordingIndex): string {
  checkIndex(index);
  const live = index.periods[index.periods.length - 1]?.status === "recording";
  const body: string[] = [];
  let longestMs = 0;
  for (const period of index.periods) {
    const ts = period.ts;
    if (!hasTs(ts)) continue;
    if (body.length > 0) body.push("#EXT-X-DISCONTINUITY");
    const times = segmentTimesMs(ts);
    const periodStartMs = isoMs(period.startedAt, "startedAt") -
      ticksToMs(ts.presentationTimeOffset ?? 0, ts.timescale);
    body.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(periodStartMs + (times[0]?.startMs ?? 0)).toISOString()}`);
    times.forEach(({ durationMs }, n) => {
      longestMs = Math.max(longestMs, durationMs);
      body.push(`#EXTINF:${(durationMs / 1000).toFixed(3)},`);
      body.push(uri(ts.segments[n]!.name));
    });
  }
  const lines = [
    "#EXTM3U",
    `#EXT-X-VERSION:${TS_PROTOCOL_VERSION}`,
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.ceil(longestMs / 1000))}`,
    "#EXT-X-MEDIA-SEQUENCE:0",
    "#EXT-X-PLAYLIST-TYPE:EVENT",
    "#EXT-X-INDEPENDENT-SEGMENTS",
    ...body,
    ...(live ? [] : ["#EXT-X-ENDLIST"]),
  ];
  return `${lines.join("\n")}\n`;
}

/** The tracks of `kind` that have segments, in recording order. */
function tracksOf(index: RecordingIndex, kind: HlsTrack): TrackIndex[] {
  return index.periods.map((p) => p[kind]).filter(hasSegments);
}

/** Every distinct codecs string of `tracks`, in order of appearance. */
function codecsOf(tracks: TrackIndex[]): string[] {
  return [...new Set(tracks.map((t) => t.codecs))];
}

/** The highest average bitrate of any of `tracks`, in bits per second (0 without tracks). */
function bandwidthOf(tracks: TrackIndex[]): number {
  return Math.max(0, ...tracks.map((t) => t.bandwidthBps));
}

/**
 * The multivariant playlist (RFC 8216 §4.3.4): one variant, its video media playlist with the audio one as the
 * default rendition of an AUDIO group (§4.3.4.1.1); the audio playlist itself when there is no video, the video one
 * without a group when there is no audio. BANDWIDTH is the sum of the tracks' highest average bitrates: the index
 * keeps no per-segment sizes to find the peak §4.3.4.2 asks for. CODECS lists every codec of every recording.
 * Without any segment there is no variant to name, and the playlist is only its header.
 */
export function renderHlsMultivariant(index: RecordingIndex, opts: HlsMultivariantOptions): string {
  checkIndex(index);
  const video = tracksOf(index, "video");
  const audio = tracksOf(index, "audio");
  const lines = ["#EXTM3U", `#EXT-X-VERSION:${PROTOCOL_VERSION}`, "#EXT-X-INDEPENDENT-SEGMENTS"];
  if (video.length > 0 || audio.length > 0) {
    const attributes = [
      `BANDWIDTH=${Math.max(1, Math.ceil(bandwidthOf(video) + bandwidthOf(audio)))}`,
      `CODECS=${quoted([...codecsOf(video), ...codecsOf(audio)].join(","))}`,
    ];
    const sized = video.filter((t) => t.widthPx !== undefined && t.heightPx !== undefined);
    const largest = sized.reduce<TrackIndex | undefined>(
      (best, t) => best === undefined || t.widthPx! * t.heightPx! > best.widthPx! * best.heightPx! ? t : best,
      undefined,
    );
    if (largest !== undefined) attributes.push(`RESOLUTION=${largest.widthPx}x${largest.heightPx}`);
    const frameRates = video.flatMap((t) => t.frameRate === undefined ? [] : [t.frameRate]);
    if (frameRates.length > 0) attributes.push(`FRAME-RATE=${Math.max(...frameRates).toFixed(3)}`);
    if (video.length > 0 && audio.length > 0) {
      const channels = audio.flatMap((t) => t.channels === undefined ? [] : [t.channels]);
      lines.push(
        "#EXT-X-MEDIA:" + [
          "TYPE=AUDIO",
          `GROUP-ID=${quoted(AUDIO_GROUP_ID)}`,
          `NAME=${quoted("audio")}`,
          "DEFAULT=YES",
          "AUTOSELECT=YES",
          ...(channels.length > 0 ? [`CHANNELS=${quoted(String(Math.max(...channels)))}`] : []),
          `URI=${quoted(uri(opts.audioUri))}`,
        ].join(","),
      );
      attributes.push(`AUDIO=${quoted(AUDIO_GROUP_ID)}`);
    }
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(",")}`);
    lines.push(uri(video.length > 0 ? opts.videoUri : opts.audioUri));
  }
  return `${lines.join("\n")}\n`;
}
