/**
 * Writes SegmentCutter's cuts as one FLV file (Adobe FLV 10.1, with Enhanced RTMP tags for the codecs legacy FLV
 * lacks), as bytes to append while the recording goes: the header, onMetaData and the sequence headers first, then
 * the video and audio samples interleaved in non-decreasing tag timestamp order. Cuts of the two tracks arrive in
 * separate batches, so samples wait until the other track has reached their decode time (or lags more than
 * `maxLagMs`: it stalled). Tag timestamps are ms from the recording's first sample, converted exactly from each
 * track's timescale and rounded. Pure and stateful (every method returns the bytes to append). It writes no keyframe
 * index, never patches onMetaData's duration (the file is only appended to), and writes no end-of-sequence tags.
 */

import { assert } from "../../shared/assert.ts";
import { UnsupportedError } from "../../shared/errors.ts";
import { compareTimes, differenceTicks, type MediaTime, rescaleTicks } from "../media_time.ts";
import type { Cut } from "../segment_cutter.ts";
import type { Sample, TrackInfo } from "../track.ts";
import { type Amf0Value, onMetaDataBody } from "./amf0.ts";
import { type FlvStream, openFlvStream } from "./codecs.ts";
import { flvHeader, flvTag, MAX_TAG_BODY_BYTES, TagType } from "./tags.ts";

/** The tracks of a writer, by the role SegmentCutter gives them; at least one. */
export interface FlvTracks {
  video?: TrackInfo;
  audio?: TrackInfo;
}

/** Options of an FlvWriter. */
export interface FlvWriterOptions {
  /**
   * How far one track may get ahead of the other before its samples are written without waiting any longer (the other
   * stalled or never started); the late track's samples before what was written are then dropped. Default 60000: more
   * than any segment SegmentCutter hands out in one batch.
   */
  maxLagMs?: number;
}

/** Counters of what the writer left out; stream faults end up here, never in exceptions. */
export interface FlvWriterStats {
  /**
   * Samples not written: bigger than a tag can hold (16 MiB), a composition offset beyond SI24 ms, or arriving with a
   * decode time before what was already written (a track that lagged more than `maxLagMs` or started late).
   */
  droppedSamples: number;
  /** Times samples were written without waiting for a track that lagged more than `maxLagMs` behind. */
  stalls: number;
}

const DEFAULT_MAX_LAG_MS = 60_000;
/** Composition offsets must fit SI24 ms. */
const MAX_CTS_OFFSET_MS = 0x7f_ffff;

/** A sample waiting to be written, on its track's decode timeline. */
interface Pending {
  dts: MediaTime;
  sample: Sample;
  stream: FlvStream;
  /** A sequence header (a format change) to write just before this sample. */
  header: Uint8Array | null;
}

/** One track as the writer muxes it. */
interface Track {
  info: TrackInfo;
  /** The stream of samples pushed from now on. */
  stream: FlvStream;
  /** Samples not yet written, in decode order. */
  queue: Pending[];
  /** Decode time of the first sample pushed; null before. */
  first: MediaTime | null;
  /** End of the samples pushed so far: where the next cut starts; null before the first. */
  reached: MediaTime | null;
  /** The sequence header of a format change, for the next sample pushed. */
  header: Uint8Array | null;
}

/** SegmentCutter's cuts in, the bytes of one growing FLV file out. */
export class FlvWriter {
  readonly stats: Readonly<FlvWriterStats>;
  readonly #stats: FlvWriterStats = { droppedSamples: 0, stalls: 0 };
  readonly #tracks: Track[] = [];
  readonly #maxLagMs: number;
  #started = false;
  /** The decode time tag timestamp 0 stands for: the earliest first sample; fixed when the first sample is written. */
  #origin: MediaTime | null = null;
  /** Decode time of the last sample written; earlier samples come too late. */
  #written: MediaTime | null = null;
  #endMs = 0;

  /** Throws UnsupportedError naming every track FLV cannot carry (an unknown sample entry fourcc, a broken config). */
  constructor(tracks: FlvTracks, options: FlvWriterOptions = {}) {
    const refusals: string[] = [];
    for (const role of ["video", "audio"] as const) {
      const info = tracks[role];
      if (info === undefined) continue;
      assert(info.codec.kind === role, `the ${role} track is ${info.codec.kind}`);
      const stream = openFlvStream(info.codec);
      if ("refused" in stream) refusals.push(`track ${info.trackId} (${role}): ${stream.refused}`);
      else this.#tracks.push({ info, stream, queue: [], first: null, reached: null, header: null });
    }
    if (refusals.length > 0) throw new UnsupportedError(`FLV cannot carry ${refusals.join("; ")}`);
    assert(this.#tracks.length > 0, "an FlvWriter needs a video or an audio track");
    this.#maxLagMs = options.maxLagMs ?? DEFAULT_MAX_LAG_MS;
    this.stats = this.#stats;
  }

  /** Timestamp of the end of the last sample written, in ms: the media time the file holds. 0 before any sample. */
  get endMs(): number {
    return this.#endMs;
  }

  /** The decode time tag timestamp 0 stands for, in ms on the cuts' timeline (rounded); null before any sample. */
  get originMs(): number | null {
    return this.#origin === null ? null : rescaleTicks(this.#origin.ticks, this.#origin.timescale, 1000, "round");
  }

  /** The file's beginning: FLV header, onMetaData, then each track's sequence header, all at timestamp 0. */
  start(): Uint8Array {
    assert(!this.#started, "FlvWriter.start called twice");
    this.#started = true;
    const video = this.#track("video");
    const audio = this.#track("audio");
    const metadata = new Map<string, Amf0Value>([["duration", 0]]);
    if (video !== undefined && video.info.codec.kind === "video") {
      metadata.set("width", video.info.codec.widthPx);
      metadata.set("height", video.info.codec.heightPx);
      metadata.set("videocodecid", video.stream.codecId);
    }
    if (audio !== undefined && audio.info.codec.kind === "audio") {
      metadata.set("audiocodecid", audio.stream.codecId);
      metadata.set("audiosamplerate", audio.info.codec.sampleRate);
      metadata.set("audiosamplesize", 16);
      metadata.set("stereo", audio.info.codec.channels === 2);
    }
    const parts = [
      flvHeader({ hasVideo: video !== undefined, hasAudio: audio !== undefined }),
      flvTag(TagType.Script, 0, onMetaDataBody(metadata)),
    ];
    for (const track of this.#tracks) {
      const header = track.stream.sequenceHeader;
      if (header !== null) parts.push(flvTag(track.stream.tagType, 0, header));
    }
    return concat(parts);
  }

  /** Takes a cut in the order SegmentCutter returned it; returns the tags that can be written now. */
  push(cut: Cut): Uint8Array {
    assert(this.#started, "FlvWriter.push before start");
    if (cut.type === "segment") return new Uint8Array(0);
    const track = this.#track(cut.track);
    assert(track !== undefined, `a ${cut.track} cut for no ${cut.track} track`);
    const timescale = track.info.timescale;
    let ticks = cut.startTicks;
    for (const sample of cut.samples) {
      const dts = { ticks, timescale };
      ticks += sample.durationTicks;
      track.first ??= dts;
      if (this.#written !== null && compareTimes(dts, this.#written) < 0) {
        this.#stats.droppedSamples++;
        continue;
      }
      track.queue.push({ dts, sample, stream: track.stream, header: track.header });
      track.header = null;
    }
    track.first ??= { ticks: cut.startTicks, timescale };
    track.reached = { ticks: cut.startTicks + cut.durationTicks, timescale };
    return this.#drain(false);
  }

  /**
   * A new format for the track of `track`'s kind (a new resolution, SPS or codec) from its next pushed sample on: its
   * sequence header is written just before that sample, with its timestamp. Throws UnsupportedError when FLV cannot
   * carry it. Returns no bytes: they wait for that sample.
   */
  changeFormat(track: TrackInfo): Uint8Array {
    const stream = openFlvStream(track.codec);
    if ("refused" in stream) throw new UnsupportedError(`FLV cannot carry track ${track.trackId}: ${stream.refused}`);
    const target = this.#track(track.codec.kind);
    assert(target !== undefined, `a format change for no ${track.codec.kind} track`);
    target.info = track;
    target.stream = stream;
    target.header = stream.sequenceHeader;
    return new Uint8Array(0);
  }

  /** The stream ended (after SegmentCutter's `flush` cuts): every sample still waiting, interleaved. */
  flush(): Uint8Array {
    return this.#drain(true);
  }

  #track(role: "video" | "audio"): Track | undefined {
    return this.#tracks.find((track) => track.info.codec.kind === role);
  }

  /** Writes the waiting samples, earliest first, up to where every track has reached (all of them at flush). */
  #drain(isFlush: boolean): Uint8Array {
    const limit = isFlush ? null : this.#limit();
    if (limit === undefined) return new Uint8Array(0);
    const parts: Uint8Array[] = [];
    for (;;) {
      let next: Track | undefined;
      for (const track of this.#tracks) {
        const head = track.queue[0];
        // Strictly earlier wins: at equal times video (first in the list) goes first.
        if (head !== undefined && (next === undefined || compareTimes(head.dts, next.queue[0]!.dts) < 0)) next = track;
      }
      const pending = next?.queue[0];
      if (next === undefined || pending === undefined || (limit !== null && compareTimes(pending.dts, limit) > 0)) {
        break;
      }
      next.queue.shift();
      this.#write(parts, pending);
    }
    return concat(parts);
  }

  /**
   * The latest decode time samples may be written up to: the earliest point every track has reached, or, when one
   * lags more than maxLagMs behind the furthest (or has not started), that lag behind the furthest. Undefined when
   * nothing may be written yet.
   */
  #limit(): MediaTime | undefined {
    const reached = this.#tracks.map((track) => track.reached);
    const started = reached.filter((time) => time !== null);
    if (started.length === 0) return undefined;
    const furthest = started.reduce((a, b) => compareTimes(a, b) >= 0 ? a : b);
    const furthestMs = rescaleTicks(furthest.ticks, furthest.timescale, 1000, "floor");
    const lagLimit = { ticks: furthestMs - this.#maxLagMs, timescale: 1000 };
    if (started.length < reached.length) {
      return this.#stalled(lagLimit);
    }
    const earliest = started.reduce((a, b) => compareTimes(a, b) <= 0 ? a : b);
    return compareTimes(earliest, lagLimit) < 0 ? this.#stalled(lagLimit) : earliest;
  }

  /** `lagLimit` if a waiting sample lies before it (the stall is counted), else undefined. */
  #stalled(lagLimit: MediaTime): MediaTime | undefined {
    const due = this.#tracks.some((track) =>
      track.queue[0] !== undefined && compareTimes(track.queue[0].dts, lagLimit) < 0
    );
    if (!due) return undefined;
    this.#stats.stalls++;
    return lagLimit;
  }

  /** The tags of one sample (its format change's sequence header first), unless it cannot be put in a tag. */
  #write(parts: Uint8Array[], { dts, sample, stream, header }: Pending): void {
    if (this.#origin === null) {
      this.#origin = this.#tracks.reduce<MediaTime>((earliest, track) => {
        const first = track.first;
        return first !== null && compareTimes(first, earliest) < 0 ? first : earliest;
      }, dts);
    }
    const origin = this.#origin;
    const dtsMs = differenceTicks(dts, origin, 1000, "round");
    const ptsMs = differenceTicks(
      { ticks: dts.ticks + sample.ctsOffsetTicks, timescale: dts.timescale },
      origin,
      1000,
      "round",
    );
    const body = stream.frame(sample, ptsMs - dtsMs);
    this.#written = dts;
    if (header !== null) parts.push(flvTag(stream.tagType, dtsMs, header));
    if (body.length > MAX_TAG_BODY_BYTES || Math.abs(ptsMs - dtsMs) > MAX_CTS_OFFSET_MS) {
      this.#stats.droppedSamples++;
      return;
    }
    parts.push(flvTag(stream.tagType, dtsMs, body));
    const endMs = differenceTicks(
      { ticks: dts.ticks + sample.durationTicks, timescale: dts.timescale },
      origin,
      1000,
      "round",
    );
    this.#endMs = Math.max(this.#endMs, endMs);
  }
}

/** One buffer holding `parts` back to back. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
