/**
 * Which samples an export of "A for N seconds" takes, so that it decodes from its first frame and keeps A/V sync. Pure
 * selection over samples already in decode order; it reads no segments and writes nothing (progressiveMp4 does).
 *
 * The rule, for a range [A, A + N) of the recording timeline:
 * - Video (every avc track): from the last sync sample at or before the frame on screen at A (so the first frame
 *   decodes without a reference from outside the clip; if no sync sample precedes it, the first one inside the range)
 *   up to the last sample that decodes before A + N. The clip thus starts up to one GOP early and is not trimmed by
 *   an edit list: the keyframe is shown, every player agrees on the first frame, and nothing is hidden. "On screen
 *   at A" is the first sample ending after A, so an A in a gap between recordings starts at the next recording
 *   instead of dragging in the last GOP of the previous one. Liverec's video has no B-frames, so decode time is
 *   presentation time.
 * - A' is where the video actually starts (the earliest chosen sync sample), or A without video.
 * - Audio (every other track, all samples sync): every sample overlapping [A', A + N), so sound covers the whole
 *   picture; a first packet that began before A' is kept whole and trimmed by the file's edit list at A'.
 * - The returned `origin` is A': progressiveMp4 makes it time 0 of the file.
 */

import { compareTimes, type MediaTime, rescaleTicks } from "./media_time.ts";
import type { Mp4Track, SampleShape } from "./mp4_file.ts";

/** The span [A, A + N) of the recording timeline to export, in ticks of `timescale`. */
export interface TimeRange {
  startTicks: number;
  durationTicks: number;
  timescale: number;
}

/** Samples [first, end) of a track, by index. */
export interface SampleSpan {
  first: number;
  end: number;
}

/** What the selection needs of a sample. */
export type TimedSample = Pick<SampleShape, "decodeTimeTicks" | "durationTicks" | "isSync">;

/** The tracks of a clip and the recording time that becomes 0 in its file (pass it as progressiveMp4's origin). */
export interface RangeSelection<S extends SampleShape> {
  tracks: Mp4Track<S>[];
  origin: MediaTime;
}

/** The samples of `tracks` that an export of `range` takes, by the rule in the file comment; a track with nothing
 * in the range keeps its place with no samples. */
export function selectRange<S extends SampleShape>(
  tracks: readonly Mp4Track<S>[],
  range: TimeRange,
): RangeSelection<S> {
  const isVideo = (track: Mp4Track<S>) => track.info.codec.kind === "video";
  const spans = new Map<Mp4Track<S>, SampleSpan>();
  let origin: MediaTime | null = null;
  for (const track of tracks.filter(isVideo)) {
    const span = syncSpan(track.samples, track.info.timescale, range);
    spans.set(track, span);
    const first = track.samples[span.first];
    if (span.first === span.end || first === undefined) continue;
    const start = { ticks: first.decodeTimeTicks, timescale: track.info.timescale };
    if (origin === null || compareTimes(start, origin) < 0) origin = start;
  }
  const from = origin ?? { ticks: range.startTicks, timescale: range.timescale };
  const to = { ticks: range.startTicks + range.durationTicks, timescale: range.timescale };
  for (const track of tracks.filter((track) => !isVideo(track))) {
    spans.set(track, overlapSpan(track.samples, track.info.timescale, from, to));
  }
  return {
    tracks: tracks.map((track) => {
      const span = spans.get(track) ?? { first: 0, end: 0 };
      return { ...track, samples: track.samples.slice(span.first, span.end) };
    }),
    origin: from,
  };
}

/** Video rule: from the last sync sample at or before the sample on screen at the range start (the first one
 * ending after it) to the last sample decoding before the range end; if there is no sync sample before, from the first
 * one in the range. Empty when no sample overlaps the range. `timescale` is the samples' own. */
export function syncSpan(samples: readonly TimedSample[], timescale: number, range: TimeRange): SampleSpan {
  const startTicks = rescaleTicks(range.startTicks, range.timescale, timescale, "floor");
  const endTicks = rescaleTicks(range.startTicks + range.durationTicks, range.timescale, timescale, "ceil");
  const end = firstIndex(samples, (sample) => sample.decodeTimeTicks >= endTicks);
  const shown = firstIndex(samples, (sample) => sample.decodeTimeTicks + sample.durationTicks > startTicks);
  if (shown >= end) return { first: end, end };
  let first = shown;
  while (first >= 0 && samples[first]?.isSync !== true) first--;
  if (first < 0) {
    first = shown;
    while (first < end && samples[first]?.isSync !== true) first++;
  }
  return { first, end };
}

/** Audio rule: every sample whose decode span [dts, dts + duration) overlaps [from, to). `timescale` is the
 * samples' own. */
export function overlapSpan(
  samples: readonly TimedSample[],
  timescale: number,
  from: MediaTime,
  to: MediaTime,
): SampleSpan {
  // With integer ticks, "ends after from" is "ends after floor(from)" and "starts before to" is "before ceil(to)".
  const fromTicks = rescaleTicks(from.ticks, from.timescale, timescale, "floor");
  const toTicks = rescaleTicks(to.ticks, to.timescale, timescale, "ceil");
  const first = firstIndex(samples, (sample) => sample.decodeTimeTicks + sample.durationTicks > fromTicks);
  const end = firstIndex(samples, (sample) => sample.decodeTimeTicks >= toTicks);
  return { first: Math.min(first, end), end };
}

/** Index of the first sample for which `isAfter` holds, by binary search (`isAfter` must be monotonic in decode
 * order); `samples.length` when none. */
function firstIndex(samples: readonly TimedSample[], isAfter: (sample: TimedSample) => boolean): number {
  let low = 0;
  let high = samples.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const sample = samples[middle];
    if (sample !== undefined && isAfter(sample)) high = middle;
    else low = middle + 1;
  }
  return low;
}
