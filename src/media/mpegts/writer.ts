/**
 * Writes SegmentCutter's cuts as HLS MPEG-TS segments (ISO/IEC 13818-1; RFC 8216 §3.2): one `.ts` per cut segment,
 * muxing video and audio, with the same numbers, start times and durations as the fMP4 segments of the same cuts.
 * With two tracks, video leads: TS segment N is video segment N, with the audio whose decode time falls in its span
 * (exactly where the cutter ends audio segments), and it is written once the audio has reached its end. Every
 * segment opens with PAT and PMT, then (with video) a keyframe; PCR rides on the video PID (audio-only: the audio
 * PID). Timestamps are converted to 90 kHz from each track's accumulated decode time, exactly. Pure and stateful
 * (`push` / `flush` return segments). It writes no playlists and no files, and encrypts nothing.
 */

import { UnsupportedError } from "../../shared/errors.ts";
import { assert } from "../../shared/assert.ts";
import type { Cut, SegmentCut } from "../segment_cutter.ts";
import type { Sample, TrackInfo } from "../track.ts";
import { PacketSink, PAT_PID, patSection, pesHeader, PMT_PID, pmtSection, TIMESTAMP_MODULUS } from "./packets.ts";
import { openTsStream, type TsStream } from "./streams.ts";

/**
 * Added to every PTS, DTS and PCR, in 90 kHz ticks (10 s): a recording's timeline starts at 0, and neither a negative
 * composition offset nor the PCR's lead may take a timestamp below 0, where it would wrap to 2^33.
 */
export const TS_TIME_OFFSET_90KHZ = 10 * 90_000;

/**
 * The PCR runs this far ahead of the decode deadlines it paces (100 ms). With PCRs at most as far apart, every PES
 * has fully arrived, at the rate the PCRs imply, by its DTS.
 */
const PCR_LEAD_90KHZ = 9_000;

/** PCRs are at most this far apart, in 90 kHz ticks (ISO/IEC 13818-1 §2.7.2: 0.1 s). */
const PCR_MAX_INTERVAL_90KHZ = 9_000;

/** An audio PES gathers frames up to this span (100 ms; a few frames, as HLS packagers do). */
const AUDIO_PES_MAX_SPAN_MS = 100;

/** An audio PES must fit PES_packet_length: 65535 minus the 8 header bytes after it (flags and PTS). */
const AUDIO_PES_MAX_PAYLOAD_BYTES = 0xffff - 8;

/**
 * A segment whose audio has not reached its end is written anyway once video has completed this many segments more:
 * audio that stalled or ended must not hold the output back. Audio normally catches up within a frame.
 */
const MAX_SEGMENTS_WAITING = 2;

const VIDEO_PID = 0x100;
const AUDIO_PID = 0x101;

/** One written MPEG-TS segment. */
export interface TsSegment {
  /** The cut segment's number: the fMP4 segments of the same cuts have the same. */
  number: number;
  /** Decode time of its first sample, in `timescale` ticks (the video track's, or the only track's). */
  startTicks: number;
  durationTicks: number;
  /** Ticks per second of `startTicks` and `durationTicks`. */
  timescale: number;
  /** The `.ts` file: 188-byte packets. */
  bytes: Uint8Array;
}

/** The tracks of a writer, by the role SegmentCutter gives them; at least one. */
export interface TsTracks {
  video?: TrackInfo;
  audio?: TrackInfo;
}

/** Counters of what the writer left out; stream faults end up here, never in exceptions. */
export interface TsWriterStats {
  segments: number;
  /**
   * Samples not written: bytes their framing cannot carry (a torn NAL unit length, an AAC frame over 8184 bytes),
   * audio arriving for a segment already written, and audio past the end of the last video segment at `flush`.
   */
  droppedSamples: number;
  /** Segments written without waiting any longer for audio that had not reached their end (it stalled). */
  incompleteSegments: number;
  /** Video samples whose PTS still preceded their DTS after the decode delay learned from the first segment; their
   * DTS was written equal to their PTS. */
  ptsBeforeDts: number;
}

/** The refusal for a track MPEG-TS cannot carry, or undefined when it can. */
export function mpegTsRefusal(track: TrackInfo): string | undefined {
  const stream = openTsStream(track.codec);
  return "refused" in stream ? stream.refused : undefined;
}

/** A sample on its track's decode timeline. */
interface TimedSample {
  dtsTicks: number;
  sample: Sample;
}

/** One track as the writer muxes it. */
interface Track {
  info: TrackInfo;
  stream: TsStream;
  pid: number;
}

/** One PES to write, its times in 90 kHz ticks with the offset applied, not yet wrapped. */
interface PesUnit {
  track: Track;
  pts90k: number;
  dts90k: number;
  /** Decode deadline that orders PES in the segment and sets the PCR: the DTS on the video's decode clock. */
  order90k: number;
  randomAccess: boolean;
  payload: Uint8Array;
}

/** SegmentCutter's cuts in, MPEG-TS segments out. */
export class TsSegmentWriter {
  readonly stats: Readonly<TsWriterStats>;
  readonly #stats: TsWriterStats = { segments: 0, droppedSamples: 0, incompleteSegments: 0, ptsBeforeDts: 0 };
  /** The track whose segments are the output's: video when there is video. */
  readonly #lead: Track;
  /** The other track (audio next to video), placed into the lead's segments by decode time. */
  readonly #follower: Track | null;
  readonly #streams: { pid: number; streamType: number }[];
  /** Per PID, the next continuity_counter: continuous across the segments of this writer. */
  readonly #counters = new Map<number, number>();
  /** Lead samples of segments not yet written, by segment number. */
  readonly #leadSamples = new Map<number, TimedSample[]>();
  /** Completed lead segments not yet written, in order. */
  readonly #leadSegments: SegmentCut[] = [];
  /** Follower samples not yet written, in decode order. */
  #followerQueue: TimedSample[] = [];
  /** End of the follower's samples handed over so far, in its ticks; null before the first. */
  #followerEndTicks: number | null = null;
  /** End of the last written segment, in lead ticks; follower samples before it come too late. */
  #writtenEndTicks: number | null = null;
  #lastPcr90k: number | null = null;
  /** How far video DTS are moved back so that no PTS precedes its DTS (negative offsets); set by the first segment. */
  #decodeDelay90k: number | null = null;

  /** Throws UnsupportedError naming every track MPEG-TS cannot carry (e.g. Opus, VP9, AV1). */
  constructor(tracks: TsTracks) {
    const opened: Track[] = [];
    const refusals: string[] = [];
    for (const [role, pid] of [["video", VIDEO_PID], ["audio", AUDIO_PID]] as const) {
      const info = tracks[role];
      if (info === undefined) continue;
      assert(info.codec.kind === role, `the ${role} track is ${info.codec.kind}`);
      const stream = openTsStream(info.codec);
      if ("refused" in stream) refusals.push(`track ${info.trackId} (${role}): ${stream.refused}`);
      else opened.push({ info, stream, pid });
    }
    if (refusals.length > 0) throw new UnsupportedError(`MPEG-TS cannot carry ${refusals.join("; ")}`);
    const lead = opened[0];
    assert(lead !== undefined, "a TsSegmentWriter needs a video or an audio track");
    this.#lead = lead;
    this.#follower = opened[1] ?? null;
    this.#streams = opened.map(({ pid, stream }) => ({ pid, streamType: stream.streamType }));
    this.stats = this.#stats;
  }

  /** Takes cuts in the order SegmentCutter returned them; returns the segments they complete. */
  push(cuts: readonly Cut[]): TsSegment[] {
    for (const cut of cuts) {
      const track = this.#trackOf(cut.track);
      if (cut.type === "segment") {
        if (track === this.#lead) this.#leadSegments.push(cut);
        continue;
      }
      let dtsTicks = cut.startTicks;
      const timed = cut.samples.map((sample) => {
        const entry = { dtsTicks, sample };
        dtsTicks += sample.durationTicks;
        return entry;
      });
      if (track === this.#lead) {
        this.#leadSamples.set(cut.segmentNumber, [...this.#leadSamples.get(cut.segmentNumber) ?? [], ...timed]);
      } else {
        // Samples come in decode order: the late ones, for a segment already written, are a prefix.
        const onTime = timed.findIndex((t) => !this.#isBeforeWrittenEnd(t.dtsTicks));
        const late = onTime < 0 ? timed.length : onTime;
        this.#stats.droppedSamples += late;
        this.#followerQueue.push(...timed.slice(late));
        this.#followerEndTicks = cut.startTicks + cut.durationTicks;
      }
    }
    return this.#drain(false);
  }

  /**
   * The stream ended (after SegmentCutter's `flush` cuts): writes every completed segment with whatever audio it has.
   * Samples left unwritten, of a segment never completed or audio past the last video segment, count as dropped.
   */
  flush(): TsSegment[] {
    const out = this.#drain(true);
    for (const samples of this.#leadSamples.values()) this.#stats.droppedSamples += samples.length;
    this.#leadSamples.clear();
    this.#stats.droppedSamples += this.#followerQueue.length;
    this.#followerQueue = [];
    return out;
  }

  #trackOf(role: "video" | "audio"): Track {
    if (this.#lead.info.codec.kind === role) return this.#lead;
    assert(this.#follower !== null && this.#follower.info.codec.kind === role, `a ${role} cut for no ${role} track`);
    return this.#follower;
  }

  /** Whether a follower decode time lies before the end of what was written (compared exactly, across timescales). */
  #isBeforeWrittenEnd(dtsTicks: number): boolean {
    const follower = this.#follower;
    assert(follower !== null, "follower");
    return this.#writtenEndTicks !== null &&
      dtsTicks * this.#lead.info.timescale < this.#writtenEndTicks * follower.info.timescale;
  }

  #drain(isFlush: boolean): TsSegment[] {
    const out: TsSegment[] = [];
    const follower = this.#follower;
    for (let segment = this.#leadSegments[0]; segment !== undefined; segment = this.#leadSegments[0]) {
      const endTicks = segment.startTicks + segment.durationTicks;
      if (follower !== null) {
        const reached = this.#followerEndTicks !== null &&
          this.#followerEndTicks * this.#lead.info.timescale >= endTicks * follower.info.timescale;
        if (!reached && !isFlush) {
          if (this.#leadSegments.length <= MAX_SEGMENTS_WAITING) break;
          this.#stats.incompleteSegments++;
        }
      }
      this.#leadSegments.shift();
      out.push(this.#write(segment, endTicks));
    }
    return out;
  }

  /** The segment's lead samples and the follower samples before its end, as TS packets. */
  #write(segment: SegmentCut, endTicks: number): TsSegment {
    const leadSamples = this.#leadSamples.get(segment.number) ?? [];
    this.#leadSamples.delete(segment.number);
    const units = this.#units(this.#lead, leadSamples);
    const follower = this.#follower;
    if (follower !== null) {
      const leadTimescale = this.#lead.info.timescale;
      const end = this.#followerQueue.findIndex((t) =>
        t.dtsTicks * leadTimescale >= endTicks * follower.info.timescale
      );
      const taken = end < 0 ? this.#followerQueue.length : end;
      units.push(...this.#units(follower, this.#followerQueue.slice(0, taken)));
      this.#followerQueue = this.#followerQueue.slice(taken);
    }
    this.#writtenEndTicks = endTicks;
    // Stable: on equal decode deadlines the lead (the keyframe opening the segment) comes first.
    units.sort((a, b) => a.order90k - b.order90k);
    this.#stats.segments++;
    return {
      number: segment.number,
      startTicks: segment.startTicks,
      durationTicks: segment.durationTicks,
      timescale: this.#lead.info.timescale,
      bytes: this.#packetize(units),
    };
  }

  /** PAT, PMT, then each PES in decode order, paced by PCRs on the lead's PID. */
  #packetize(units: readonly PesUnit[]): Uint8Array {
    const sink = new PacketSink(this.#counters);
    sink.section(PAT_PID, patSection());
    sink.section(PMT_PID, pmtSection(this.#lead.pid, this.#streams));
    units.forEach((unit, i) => {
      const pcr90k = this.#pacePcr(sink, unit, i === 0);
      const dts90k = unit.dts90k === unit.pts90k ? null : wrap(unit.dts90k);
      const bounded = unit.track.stream.kind === "audio" ? unit.payload.length : null;
      const header = pesHeader(unit.track.stream.streamId, wrap(unit.pts90k), dts90k, bounded);
      const pes = new Uint8Array(header.length + unit.payload.length);
      pes.set(header);
      pes.set(unit.payload, header.length);
      sink.pes(unit.track.pid, pes, { pcr90k, randomAccess: unit.randomAccess });
    });
    return sink.bytes();
  }

  /**
   * Keeps the PCR `PCR_LEAD_90KHZ` ahead of `unit`'s decode deadline, never going back: fills a longer gap than
   * ISO/IEC 13818-1 §2.7.2 allows with PCR-only packets, and returns the PCR for the unit's first packet when it is
   * on the PCR PID. A segment that opens with another PID gets a PCR-only packet first, so each segment has its own.
   */
  #pacePcr(sink: PacketSink, unit: PesUnit, opensSegment: boolean): number | null {
    const pcrPid = this.#lead.pid;
    let last = this.#lastPcr90k;
    const target = Math.max(unit.order90k - PCR_LEAD_90KHZ, last ?? -Infinity);
    while (last !== null && target - last > PCR_MAX_INTERVAL_90KHZ) {
      last += PCR_MAX_INTERVAL_90KHZ;
      sink.pcr(pcrPid, wrap(last));
    }
    this.#lastPcr90k = last;
    if (unit.track.pid === pcrPid) {
      this.#lastPcr90k = target;
      return wrap(target);
    }
    if (opensSegment || last === null) {
      sink.pcr(pcrPid, wrap(target));
      this.#lastPcr90k = target;
    }
    return null;
  }

  #units(track: Track, samples: readonly TimedSample[]): PesUnit[] {
    return track.stream.kind === "video" ? this.#videoUnits(track, samples) : this.#audioUnits(track, samples);
  }

  /** One PES per video sample; DTS shifted by the decode delay so that no PTS precedes its DTS (§2.7.5). */
  #videoUnits(track: Track, samples: readonly TimedSample[]): PesUnit[] {
    const timescale = track.info.timescale;
    const times = samples.map(({ dtsTicks, sample }) => ({
      dts90k: to90k(dtsTicks, timescale),
      pts90k: to90k(dtsTicks + sample.ctsOffsetTicks, timescale),
    }));
    this.#decodeDelay90k ??= times.reduce((delay, t) => Math.max(delay, t.dts90k - t.pts90k), 0);
    const delay = this.#decodeDelay90k;
    const units: PesUnit[] = [];
    samples.forEach(({ sample }, i) => {
      const payload = track.stream.payload(sample);
      if (payload === null) {
        this.#stats.droppedSamples++;
        return;
      }
      const { pts90k } = times[i]!;
      let dts90k = times[i]!.dts90k - delay;
      if (dts90k > pts90k) {
        this.#stats.ptsBeforeDts++;
        dts90k = pts90k;
      }
      units.push({ track, pts90k, dts90k, order90k: dts90k, randomAccess: sample.isSync, payload });
    });
    return units;
  }

  /** Audio frames gathered into PES of up to 100 ms (and the PES length limit), each PES with its first PTS. */
  #audioUnits(track: Track, samples: readonly TimedSample[]): PesUnit[] {
    const timescale = track.info.timescale;
    const delay = this.#decodeDelay90k ?? 0;
    const units: PesUnit[] = [];
    let frames: Uint8Array[] = [];
    let firstDtsTicks = 0;
    let firstPtsTicks = 0;
    let bytes = 0;
    const close = () => {
      if (frames.length === 0) return;
      const payload = new Uint8Array(bytes);
      let offset = 0;
      for (const frame of frames) {
        payload.set(frame, offset);
        offset += frame.length;
      }
      const pts90k = to90k(firstPtsTicks, timescale);
      const dts90k = to90k(firstDtsTicks, timescale);
      // Audio decodes on the video's decode clock too: its deadline moves with the decode delay.
      units.push({ track, pts90k, dts90k, order90k: dts90k - delay, randomAccess: false, payload });
      frames = [];
      bytes = 0;
    };
    for (const { dtsTicks, sample } of samples) {
      const frame = track.stream.payload(sample);
      if (frame === null || frame.length > AUDIO_PES_MAX_PAYLOAD_BYTES) {
        this.#stats.droppedSamples++;
        continue;
      }
      const spanTicks = dtsTicks + sample.durationTicks - firstDtsTicks;
      const isFull = bytes + frame.length > AUDIO_PES_MAX_PAYLOAD_BYTES ||
        spanTicks * 1000 > AUDIO_PES_MAX_SPAN_MS * timescale;
      if (frames.length > 0 && isFull) close();
      if (frames.length === 0) {
        firstDtsTicks = dtsTicks;
        firstPtsTicks = dtsTicks + sample.ctsOffsetTicks;
      }
      frames.push(frame);
      bytes += frame.length;
    }
    close();
    return units;
  }
}

/**
 * `ticks` of a `timescale` clock in 90 kHz, plus the offset: whole seconds exactly and the remainder rounded, so a
 * time converts to the same value whatever came before it and the error never exceeds half a tick.
 */
function to90k(ticks: number, timescale: number): number {
  const seconds = Math.floor(ticks / timescale);
  const remainder = ticks - seconds * timescale;
  return TS_TIME_OFFSET_90KHZ + seconds * 90_000 + Math.round((remainder * 90_000) / timescale);
}

/** A 90 kHz time as a 33-bit timestamp field. */
function wrap(ticks90k: number): number {
  return ((ticks90k % TIMESTAMP_MODULUS) + TIMESTAMP_MODULUS) % TIMESTAMP_MODULUS;
}
