/**
 * Renders a recording index as a DASH MPD (ISO/IEC 23009-1, isoff-live profile): one Period per recording, one
 * AdaptationSet per track, SegmentTemplate with a SegmentTimeline. Static once every recording has finished,
 * dynamic while the last one records. Pure: wall-clock time comes in as `nowIso`; it does not write the file or
 * decide when to, and it renders no HLS.
 */

import { assert } from "../shared/assert.ts";
import {
  checkIndex,
  hasSegments,
  isoMs,
  nonEmptyTracks,
  periodDurationS,
  periodId,
  type RecordingIndex,
  type TrackIndex,
} from "./recording_index.ts";
import { el, serializeXml, type XmlAttribute, type XmlElement } from "./xml.ts";

/** Options of renderMpd. */
export interface MpdOptions {
  /** Wall-clock time of rendering, ISO 8601; becomes MPD@publishTime of a dynamic MPD. */
  nowIso: string;
  /** MPD@minimumUpdatePeriod of a dynamic MPD, in seconds; default 2. */
  minimumUpdatePeriodS?: number;
  /** MPD@suggestedPresentationDelay of a dynamic MPD, in seconds; default twice the longest segment. */
  suggestedPresentationDelayS?: number;
  /**
   * URL answering GET with the current time as ISO 8601, written as a UTCTiming element
   * (`urn:mpeg:dash:utc:http-iso:2014`) in a dynamic MPD so players need not trust their own clock; relative URLs
   * resolve against the MPD. Absent: no UTCTiming (dash.js then asks its default time server, then the device).
   */
  utcTimingUrl?: string;
}

const MPD_NAMESPACE = "urn:mpeg:dash:schema:mpd:2011";
const LIVE_PROFILE = "urn:mpeg:dash:profile:isoff-live:2011";
const AUDIO_CHANNEL_CONFIGURATION_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011";
const UTC_TIMING_HTTP_ISO_SCHEME = "urn:mpeg:dash:utc:http-iso:2014";
const DEFAULT_MINIMUM_UPDATE_PERIOD_S = 2;
/** minBufferTime when there is no segment to measure. */
const DEFAULT_MIN_BUFFER_MS = 2000;
/** Slack added to the time-shift buffer so the first segment never falls out of a dynamic MPD's window. */
const TIME_SHIFT_MARGIN_MS = 60_000;

/** `ms` milliseconds as an xs:duration, e.g. "PT12.345S", "PT1H2M3S", "PT0S" (no float noise: ms are integers). */
export function formatDuration(ms: number): string {
  assert(Number.isInteger(ms) && ms >= 0, `duration must be whole non-negative milliseconds, got ${ms}`);
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const secondsMs = ms % 60_000;
  const fraction = secondsMs % 1000 === 0 ? "" : `.${String(secondsMs % 1000).padStart(3, "0").replace(/0+$/, "")}`;
  const seconds = Math.floor(secondsMs / 1000);
  let text = "PT";
  if (hours > 0) text += `${hours}H`;
  if (minutes > 0) text += `${minutes}M`;
  if (secondsMs > 0 || text === "PT") text += `${seconds}${fraction}S`;
  return text;
}

/** Seconds to whole milliseconds. */
function toMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** Representation@frameRate as a FrameRateType (ISO/IEC 23009-1 §5.3.12.2): "30", "30000/1001", "25/2". */
export function formatFrameRate(fps: number): string {
  assert(Number.isFinite(fps) && fps > 0, `frame rate must be positive, got ${fps}`);
  const whole = Math.round(fps);
  if (Math.abs(fps - whole) < 0.0005) return String(whole);
  const ntsc = Math.round(fps * 1.001);
  if (Math.abs(fps - (ntsc * 1000) / 1001) < 0.0005) return `${ntsc * 1000}/1001`;
  let numerator = Math.round(fps * 1000);
  let denominator = 1000;
  const divisor = gcd(numerator, denominator);
  numerator /= divisor;
  denominator /= divisor;
  return `${numerator}/${denominator}`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * `<SegmentTimeline>` (ISO/IEC 23009-1 §5.3.9.6): runs of contiguous segments of equal duration share one S with
 * @r; S@t is written on the first S and wherever a segment does not start where the previous one ended.
 */
export function segmentTimeline(track: TrackIndex): XmlElement {
  const runs: { t: number | undefined; d: number; r: number }[] = [];
  let previousEnd: number | undefined;
  for (const { startTicks, durationTicks } of track.segments) {
    const contiguous = startTicks === previousEnd;
    const last = runs[runs.length - 1];
    if (contiguous && last !== undefined && last.d === durationTicks) {
      last.r += 1;
    } else {
      runs.push({ t: contiguous ? undefined : startTicks, d: durationTicks, r: 0 });
    }
    previousEnd = startTicks + durationTicks;
  }
  return el(
    "SegmentTimeline",
    [],
    runs.map(({ t, d, r }) => el("S", [["t", t], ["d", d], ["r", r > 0 ? r : undefined]])),
  );
}

function segmentTemplate(track: TrackIndex): XmlElement {
  return el("SegmentTemplate", [
    ["timescale", track.timescale],
    ["initialization", track.init],
    ["media", track.media],
    ["startNumber", track.startNumber],
    ["presentationTimeOffset", track.presentationTimeOffset || undefined],
  ], [segmentTimeline(track)]);
}

function bandwidth(track: TrackIndex): number {
  // Representation@bandwidth is a required unsignedInt; 0 would claim the stream is free to fetch.
  return Math.max(1, Math.round(track.bandwidthBps));
}

/** An AdaptationSet of `kind` (id 0 video, 1 audio) with one Representation of `track`. */
function adaptationSet(
  kind: "video" | "audio",
  track: TrackIndex,
  representationAttributes: readonly XmlAttribute[],
  representationChildren: readonly XmlElement[],
): XmlElement {
  return el("AdaptationSet", [
    ["id", kind === "video" ? 0 : 1],
    ["contentType", kind],
    ["mimeType", `${kind}/mp4`],
    ["segmentAlignment", "true"],
    ["startWithSAP", 1],
  ], [
    el("Representation", [
      ["id", kind],
      ["codecs", track.codecs],
      ["bandwidth", bandwidth(track)],
      ...representationAttributes,
    ], [...representationChildren, segmentTemplate(track)]),
  ]);
}

function videoAdaptationSet(track: TrackIndex): XmlElement {
  return adaptationSet("video", track, [
    ["width", track.widthPx],
    ["height", track.heightPx],
    ["frameRate", track.frameRate === undefined ? undefined : formatFrameRate(track.frameRate)],
  ], []);
}

function audioAdaptationSet(track: TrackIndex): XmlElement {
  const channels = track.channels === undefined ? [] : [
    el("AudioChannelConfiguration", [["schemeIdUri", AUDIO_CHANNEL_CONFIGURATION_SCHEME], ["value", track.channels]]),
  ];
  return adaptationSet("audio", track, [["audioSamplingRate", track.sampleRate]], channels);
}

/** The longest segment of any track, in milliseconds, or undefined when there are no segments. */
function longestSegmentMs(index: RecordingIndex): number | undefined {
  let longestS: number | undefined;
  for (const period of index.periods) {
    for (const track of nonEmptyTracks(period)) {
      for (const s of track.segments) longestS = Math.max(longestS ?? 0, s.durationTicks / track.timescale);
    }
  }
  return longestS === undefined ? undefined : Math.ceil(longestS * 1000);
}

/**
 * The MPD for `index`. Periods play back to back (Period@start is the sum of the earlier durations). While the last
 * period records, the MPD is dynamic and its availabilityStartTime is that period's `startedAt` minus the earlier
 * durations, so the live edge is at wall-clock time. Tracks without segments, and periods without any, are left out.
 */
export function renderMpd(index: RecordingIndex, opts: MpdOptions): string {
  checkIndex(index);
  const nowMs = isoMs(opts.nowIso, "nowIso");

  const lastPeriod = index.periods[index.periods.length - 1];
  const dynamic = lastPeriod?.status === "recording";
  // Start offsets in whole ms, each rounded from the exact sum so rounding never accumulates.
  const startsMs: number[] = [];
  let cumulativeS = 0;
  for (const period of index.periods) {
    startsMs.push(toMs(cumulativeS));
    cumulativeS += periodDurationS(period);
  }
  const totalMs = toMs(cumulativeS);
  const minBufferMs = longestSegmentMs(index) ?? DEFAULT_MIN_BUFFER_MS;

  const periods: XmlElement[] = [];
  index.periods.forEach((period, i) => {
    const tracks: XmlElement[] = [];
    if (hasSegments(period.video)) tracks.push(videoAdaptationSet(period.video));
    if (hasSegments(period.audio)) tracks.push(audioAdaptationSet(period.audio));
    if (tracks.length === 0) return;
    const startMs = startsMs[i] ?? 0;
    const endMs = startsMs[i + 1] ?? totalMs;
    const isLive = dynamic && period === lastPeriod;
    periods.push(el("Period", [
      ["id", periodId(period)],
      ["start", formatDuration(startMs)],
      ["duration", dynamic && !isLive ? formatDuration(endMs - startMs) : undefined],
    ], tracks));
  });

  let attributes: [string, string | undefined][];
  if (dynamic && lastPeriod !== undefined) {
    const lastStartMs = startsMs[startsMs.length - 1] ?? 0;
    const availabilityStartMs = isoMs(lastPeriod.startedAt, "startedAt") - lastStartMs;
    const timeShiftMs = Math.max(nowMs - availabilityStartMs, totalMs) + TIME_SHIFT_MARGIN_MS;
    const updateS = opts.minimumUpdatePeriodS ?? DEFAULT_MINIMUM_UPDATE_PERIOD_S;
    const delayMs = opts.suggestedPresentationDelayS === undefined
      ? 2 * minBufferMs
      : toMs(opts.suggestedPresentationDelayS);
    attributes = [
      ["type", "dynamic"],
      ["availabilityStartTime", new Date(availabilityStartMs).toISOString()],
      ["publishTime", new Date(nowMs).toISOString()],
      ["minimumUpdatePeriod", formatDuration(toMs(updateS))],
      ["timeShiftBufferDepth", formatDuration(timeShiftMs)],
      ["suggestedPresentationDelay", formatDuration(delayMs)],
      ["minBufferTime", formatDuration(minBufferMs)],
    ];
  } else {
    attributes = [
      ["type", "static"],
      ["mediaPresentationDuration", formatDuration(totalMs)],
      ["minBufferTime", formatDuration(minBufferMs)],
    ];
  }

  const mpd = el("MPD", [["xmlns", MPD_NAMESPACE], ["profiles", LIVE_PROFILE], ...attributes], [
    el("ProgramInformation", [], [{ name: "Title", attributes: [], text: index.streamId }]),
    ...periods,
    ...(dynamic && opts.utcTimingUrl !== undefined
      ? [el("UTCTiming", [["schemeIdUri", UTC_TIMING_HTTP_ISO_SCHEME], ["value", opts.utcTimingUrl]])]
      : []),
  ]);
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serializeXml(mpd)}`;
}
