/**
 * Decides where a recording's media segments and their fragments start and end: video at keyframes once the target
 * duration is reached, audio at the same decode times, both on gapless decode timelines. It hands out each fragment
 * as a batch of timed samples as soon as it completes, and each segment's end; it writes no bytes. A container
 * writer (fMP4 in segmenter.ts; MPEG-TS or FLV next) serializes the same cuts, so every format lines up.
 * Pure and stateful (`push*` / `flush` return cuts).
 */

import { assert } from "../shared/assert.ts";
import type { Sample } from "./track.ts";

/** One video frame, in decode order. */
export interface VideoFrame {
  /** Decode time in the video timescale (90 kHz), relative to recording start, already unwrapped. */
  dtsTicks: number;
  /** Presentation time minus decode time (B-frames), in ticks, possibly negative; absent: 0 (WebRTC). */
  ctsOffsetTicks?: number;
  isKeyframe: boolean;
  /** The sample in its ISOBMFF form (see src/codec's Frame). */
  data: Uint8Array;
}

/** One Opus packet. */
export interface AudioFrame {
  /** Presentation time in the audio timescale (48 kHz), relative to recording start. */
  ptsTicks: number;
  /** Duration the packet decodes to, in audio ticks (960 for 20 ms). */
  durationTicks: number;
  data: Uint8Array;
}

/** A completed fragment of the open segment of one track: its samples, ticks in the track timescale. */
export interface FragmentCut {
  type: "fragment";
  track: "video" | "audio";
  /** The track's ID in the container. */
  trackId: number;
  /** Number of the segment this fragment belongs to (its `segment` cut follows its last fragment). */
  segmentNumber: number;
  /** Whether it is the segment's first fragment. */
  firstOfSegment: boolean;
  /** Decode time of its first sample. */
  startTicks: number;
  durationTicks: number;
  /** The samples, in decode order, with their durations. */
  samples: readonly Sample[];
}

/** A completed segment: its fragments were all handed out before it, in order. */
export interface SegmentCut {
  type: "segment";
  track: "video" | "audio";
  /** Segment number, counted per track from `firstNumber`. */
  number: number;
  /** Decode time of its first sample, in the track timescale. */
  startTicks: number;
  durationTicks: number;
  sampleCount: number;
}

/** What `pushVideo`, `pushAudio` and `flush` return, in emission order. */
export type Cut = FragmentCut | SegmentCut;

/** A track of the segmenter: its track ID in the container and ticks per second. */
export interface SegmenterTrack {
  trackId: number;
  timescale: number;
}

/** Options of a Segmenter; at least one of `video` and `audio` is required. */
export interface SegmenterOptions {
  /** Target segment duration; video segments are cut at the first keyframe at or after it. */
  segmentDurationMs: number;
  /** A fragment is closed once its samples span at least this long (on any frame); absent: one per segment. */
  fragmentDurationMs?: number;
  /** Number of the first segment of each track (a later recording of the same day continues the numbering). */
  firstNumber: number;
  video?: SegmenterTrack;
  audio?: SegmenterTrack;
  /** A pts step larger than this (either direction) is a timestamp jump, not a gap. Default 10000. */
  maxJumpMs?: number;
  /** How far queued audio may span while waiting for video before it is placed (or, before the first keyframe,
   * dropped) regardless. Default 10000. */
  maxAudioWaitMs?: number;
}

/** Counters of what the segmenter saw and did; `droppedFrames` is the sum of the `dropped*` counters. */
export interface SegmenterStats {
  videoFrames: number;
  audioFrames: number;
  droppedFrames: number;
  /** Video before the first keyframe, audio before its decode time or pushed when no keyframe ever came. */
  droppedBeforeKeyframe: number;
  /** Frames whose pts did not increase (duplicates, small steps back). */
  droppedNonIncreasing: number;
  /** Audio that waited longer than `maxAudioWaitMs` for the first video keyframe. */
  droppedAudioWait: number;
  /** Frames whose pts jumped by more than `maxJumpMs`; the timeline continued with a clamped duration. */
  timestampJumps: number;
  /** Audio frames placed before video decided its next cut because video stalled; segments may misalign. */
  audioPlacedEarly: number;
  videoSegments: number;
  audioSegments: number;
}

const DEFAULT_MAX_JUMP_MS = 10_000;
const DEFAULT_MAX_AUDIO_WAIT_MS = 10_000;

/** A frame accepted onto a track's timeline whose duration is not known until the next frame arrives. */
interface HeldFrame {
  /** Its decode time on the track's gapless timeline. */
  dtsTicks: number;
  /** The time it came with (video: decode time, audio: presentation time), before gaps and jumps were closed. */
  inputTicks: number;
  ctsOffsetTicks: number;
  isSync: boolean;
  /** Duration used if no later frame decides it: the frame's own for audio, the previous sample's for video. */
  fallbackDurationTicks: number;
  data: Uint8Array;
}

/** One track's decode timeline, open segment and open fragment. */
class TrackLine {
  readonly track: "video" | "audio";
  readonly trackId: number;
  readonly timescale: number;
  readonly maxJumpTicks: number;
  readonly fragmentDurationMs: number | null;
  nextNumber: number;
  started = false;
  held: HeldFrame | null = null;
  lastDurationTicks = 0;
  segmentStartTicks = 0;
  segmentDurationTicks = 0;
  /** Samples of the open segment already handed out as fragments. */
  segmentSampleCount = 0;
  fragmentStartTicks = 0;
  fragmentDurationTicks = 0;
  /** Samples of the open fragment. */
  samples: Sample[] = [];

  constructor(
    track: "video" | "audio",
    config: SegmenterTrack,
    opts: { firstNumber: number; maxJumpMs: number; fragmentDurationMs: number | null },
  ) {
    assert(
      Number.isInteger(config.timescale) && config.timescale > 0,
      `timescale must be > 0, got ${config.timescale}`,
    );
    this.track = track;
    this.trackId = config.trackId;
    this.timescale = config.timescale;
    this.maxJumpTicks = (opts.maxJumpMs * config.timescale) / 1000;
    this.fragmentDurationMs = opts.fragmentDurationMs;
    this.nextNumber = opts.firstNumber;
  }

  /** Starts the timeline: the first segment and fragment begin at `dtsTicks`. */
  start(dtsTicks: number): void {
    this.started = true;
    this.segmentStartTicks = dtsTicks;
    this.fragmentStartTicks = dtsTicks;
  }

  /** Duration the held frame gets from a frame that came with `inputTicks`, or null when it must be dropped. */
  durationTo(inputTicks: number): { durationTicks: number; isJump: boolean } | null {
    assert(this.held !== null, "durationTo before start");
    const deltaTicks = inputTicks - this.held.inputTicks;
    if (Math.abs(deltaTicks) > this.maxJumpTicks) {
      return { durationTicks: this.held.fallbackDurationTicks, isJump: true };
    }
    if (deltaTicks <= 0) return null;
    return { durationTicks: deltaTicks, isJump: false };
  }

  /** Closes the held frame with `durationTicks` into the open fragment, emitting the fragment once it is long enough. */
  release(out: Cut[], durationTicks: number): void {
    const held = this.held;
    assert(held !== null, "release without a held frame");
    this.samples.push({ durationTicks, ctsOffsetTicks: held.ctsOffsetTicks, isSync: held.isSync, data: held.data });
    this.segmentDurationTicks += durationTicks;
    this.fragmentDurationTicks += durationTicks;
    this.lastDurationTicks = durationTicks;
    this.held = null;
    const targetMs = this.fragmentDurationMs;
    if (targetMs !== null && this.fragmentDurationTicks * 1000 >= targetMs * this.timescale) this.#closeFragment(out);
  }

  /** Decode time the next frame will have once the held one is released with `durationTicks`. */
  nextDts(durationTicks: number): number {
    assert(this.held !== null, "nextDts without a held frame");
    return this.held.dtsTicks + durationTicks;
  }

  /** Whether `dtsTicks` is at least `durationMs` after the open segment's start. */
  isDue(dtsTicks: number, durationMs: number): boolean {
    return (dtsTicks - this.segmentStartTicks) * 1000 >= durationMs * this.timescale;
  }

  /** Emits the open fragment and then the open segment (if it has samples); opens the next one at `nextStartTicks`.
   * Returns whether a segment was emitted. */
  close(out: Cut[], nextStartTicks: number): boolean {
    this.#closeFragment(out);
    const sampleCount = this.segmentSampleCount;
    if (sampleCount > 0) {
      out.push({
        type: "segment",
        track: this.track,
        number: this.nextNumber++,
        startTicks: this.segmentStartTicks,
        durationTicks: this.segmentDurationTicks,
        sampleCount,
      });
    }
    this.segmentStartTicks = nextStartTicks;
    this.segmentDurationTicks = 0;
    this.segmentSampleCount = 0;
    this.fragmentStartTicks = nextStartTicks;
    return sampleCount > 0;
  }

  /** Hands out the open fragment, if it has samples. */
  #closeFragment(out: Cut[]): void {
    const samples = this.samples;
    if (samples.length === 0) return;
    const startTicks = this.fragmentStartTicks;
    const durationTicks = this.fragmentDurationTicks;
    out.push({
      type: "fragment",
      track: this.track,
      trackId: this.trackId,
      segmentNumber: this.nextNumber,
      firstOfSegment: this.segmentSampleCount === 0,
      startTicks,
      durationTicks,
      samples,
    });
    this.segmentSampleCount += samples.length;
    this.samples = [];
    this.fragmentStartTicks = startTicks + durationTicks;
    this.fragmentDurationTicks = 0;
  }
}

/** Cuts video at keyframes and audio at the same decode times into media segments (CMAF, ISO/IEC 23000-19 §7.3). */
export class SegmentCutter {
  /** Live counters; read-only to callers. */
  readonly stats: Readonly<SegmenterStats>;
  readonly #stats: SegmenterStats = {
    videoFrames: 0,
    audioFrames: 0,
    droppedFrames: 0,
    droppedBeforeKeyframe: 0,
    droppedNonIncreasing: 0,
    droppedAudioWait: 0,
    timestampJumps: 0,
    audioPlacedEarly: 0,
    videoSegments: 0,
    audioSegments: 0,
  };
  readonly #segmentDurationMs: number;
  readonly #video: TrackLine | null;
  readonly #audio: TrackLine | null;
  readonly #audioWaitTicks: number;
  /** Audio accepted from the caller but not yet placed on the audio timeline (waiting for video's cut decisions). */
  #audioQueue: AudioFrame[] = [];
  /** Video decode times where a video segment started and audio has not cut yet, in video ticks, ascending. */
  #pendingCuts: number[] = [];
  /** Decode time of the first video keyframe, in video ticks; audio before it is dropped. */
  #videoStartTicks = 0;
  #flushed = false;
  /** The next keyframe (audio only: the next frame) cuts the open segment whatever its duration. */
  #forceCut = false;

  /**
   * True when the open video segment has reached the target duration and only waits for a keyframe to cut: the
   * moment to ask a publisher that sends keyframes only on request (WebRTC encoders) for one.
   */
  get keyframeDue(): boolean {
    const video = this.#video;
    if (video === null || video.held === null) return false;
    return this.#forceCut || video.isDue(video.held.dtsTicks, this.#segmentDurationMs);
  }

  /**
   * Makes the next keyframe (without video: the next audio frame) end the open segment whatever its duration, e.g.
   * to start a new recording there. Answers the track that decides the cut and the number of its open segment, the
   * last one before the cut; undefined before the first frame, when there is nothing to cut.
   */
  cutAtNextKeyframe(): { track: "video" | "audio"; number: number } | undefined {
    const line = this.#video ?? this.#audio;
    if (line === null || !line.started) return undefined;
    this.#forceCut = true;
    return { track: line.track, number: line.nextNumber };
  }

  /** A segmenter for one recording; `opts` are trusted (validated by config), violations are bugs. */
  constructor(opts: SegmenterOptions) {
    assert(opts.segmentDurationMs > 0, `segmentDurationMs must be > 0, got ${opts.segmentDurationMs}`);
    assert(opts.video !== undefined || opts.audio !== undefined, "a Segmenter needs a video or an audio track");
    assert(
      opts.fragmentDurationMs === undefined || opts.fragmentDurationMs > 0,
      `fragmentDurationMs must be > 0, got ${opts.fragmentDurationMs}`,
    );
    assert(
      Number.isInteger(opts.firstNumber) && opts.firstNumber >= 0,
      `firstNumber must be >= 0, got ${opts.firstNumber}`,
    );
    const lineOpts = {
      firstNumber: opts.firstNumber,
      maxJumpMs: opts.maxJumpMs ?? DEFAULT_MAX_JUMP_MS,
      fragmentDurationMs: opts.fragmentDurationMs ?? null,
    };
    this.#segmentDurationMs = opts.segmentDurationMs;
    this.#video = opts.video === undefined ? null : new TrackLine("video", opts.video, lineOpts);
    this.#audio = opts.audio === undefined ? null : new TrackLine("audio", opts.audio, lineOpts);
    this.#audioWaitTicks = ((opts.maxAudioWaitMs ?? DEFAULT_MAX_AUDIO_WAIT_MS) * (opts.audio?.timescale ?? 0)) / 1000;
    this.stats = this.#stats;
  }

  /** Adds a video frame; returns the fragments and segments it completed, of video and possibly of audio. */
  pushVideo(frame: VideoFrame): Cut[] {
    const video = this.#video;
    assert(video !== null, "pushVideo on a Segmenter without video");
    assert(!this.#flushed, "pushVideo after flush");
    this.#stats.videoFrames++;
    const out: Cut[] = [];
    if (!video.started) {
      if (!frame.isKeyframe) {
        this.#drop("droppedBeforeKeyframe");
        return out;
      }
      video.start(frame.dtsTicks);
      this.#videoStartTicks = frame.dtsTicks;
      this.#holdVideo(video, frame, frame.dtsTicks, Math.round(video.timescale / 30));
    } else {
      const dtsTicks = this.#advance(out, video, frame.dtsTicks);
      if (dtsTicks === null) return out;
      if (frame.isKeyframe && (this.#forceCut || video.isDue(dtsTicks, this.#segmentDurationMs))) {
        this.#forceCut = false;
        this.#close(out, video, dtsTicks);
        if (this.#audio !== null) this.#pendingCuts.push(dtsTicks);
      }
      this.#holdVideo(video, frame, dtsTicks, video.lastDurationTicks);
    }
    this.#drainAudio(out, false);
    return out;
  }

  /** Adds an audio frame; returns the audio fragments and segments it completed (usually none). */
  pushAudio(frame: AudioFrame): Cut[] {
    assert(this.#audio !== null, "pushAudio on a Segmenter without audio");
    assert(!this.#flushed, "pushAudio after flush");
    this.#stats.audioFrames++;
    this.#audioQueue.push(frame);
    const out: Cut[] = [];
    this.#drainAudio(out, false);
    return out;
  }

  /** Closes both tracks: the held frames get a fallback duration and every queued frame is placed; each track's
   * last fragment comes out before its last segment. */
  flush(): Cut[] {
    assert(!this.#flushed, "flush twice");
    this.#flushed = true;
    const out: Cut[] = [];
    if (this.#video !== null) this.#finish(out, this.#video);
    if (this.#audio !== null) {
      this.#drainAudio(out, true);
      this.#finish(out, this.#audio);
    }
    return out;
  }

  /** Releases the held frame of `line` with the duration up to a frame that came with `inputTicks`: that frame's
   * decode time, or null when it is dropped as non-increasing. */
  #advance(out: Cut[], line: TrackLine, inputTicks: number): number | null {
    const step = line.durationTo(inputTicks);
    if (step === null) {
      this.#drop("droppedNonIncreasing");
      return null;
    }
    if (step.isJump) this.#stats.timestampJumps++;
    const dtsTicks = line.nextDts(step.durationTicks);
    line.release(out, step.durationTicks);
    return dtsTicks;
  }

  /** Releases the held frame of `line` (if any) with its fallback duration and closes the track's last segment. */
  #finish(out: Cut[], line: TrackLine): void {
    if (line.held === null) return;
    const durationTicks = line.held.fallbackDurationTicks;
    const endTicks = line.nextDts(durationTicks);
    line.release(out, durationTicks);
    this.#close(out, line, endTicks);
  }

  #holdVideo(video: TrackLine, frame: VideoFrame, dtsTicks: number, fallbackDurationTicks: number): void {
    video.held = {
      dtsTicks,
      inputTicks: frame.dtsTicks,
      ctsOffsetTicks: frame.ctsOffsetTicks ?? 0,
      isSync: frame.isKeyframe,
      fallbackDurationTicks,
      data: frame.data,
    };
  }

  /** Places queued audio whose segment is decided: at or before the newest video decode time, or all at flush. */
  #drainAudio(out: Cut[], isFlush: boolean): void {
    const audio = this.#audio;
    const video = this.#video;
    const queue = this.#audioQueue;
    if (audio === null) return;
    let placed = 0;
    while (placed < queue.length) {
      const frame = queue[placed];
      assert(frame !== undefined, "audio queue index");
      const newest = queue[queue.length - 1];
      assert(newest !== undefined, "audio queue is not empty");
      const isOverdue = newest.ptsTicks - frame.ptsTicks > this.#audioWaitTicks;
      if (video !== null && !video.started) {
        if (isFlush) {
          this.#drop("droppedBeforeKeyframe");
        } else if (isOverdue) {
          this.#drop("droppedAudioWait");
        } else {
          break;
        }
        placed++;
        continue;
      }
      if (video !== null && !isFlush && video.held !== null) {
        const dtsTicks = this.#audioDts(audio, frame);
        if (dtsTicks !== null && dtsTicks * video.timescale > video.held.dtsTicks * audio.timescale) {
          if (!isOverdue) break;
          this.#stats.audioPlacedEarly++;
        }
      }
      placed++;
      this.#placeAudio(out, audio, frame);
    }
    if (placed > 0) queue.splice(0, placed);
  }

  /** Decode time `frame` would get on the audio timeline, or null if it will be dropped as non-increasing. */
  #audioDts(audio: TrackLine, frame: AudioFrame): number | null {
    if (!audio.started) return frame.ptsTicks;
    const step = audio.durationTo(frame.ptsTicks);
    return step === null ? null : audio.nextDts(step.durationTicks);
  }

  /** Puts one audio frame on the audio timeline, closing the audio segment when it crosses a video cut. */
  #placeAudio(out: Cut[], audio: TrackLine, frame: AudioFrame): void {
    const video = this.#video;
    const cuts = this.#pendingCuts;
    let dtsTicks: number | null;
    if (!audio.started) {
      if (video !== null && frame.ptsTicks * video.timescale < this.#videoStartTicks * audio.timescale) {
        this.#drop("droppedBeforeKeyframe");
        return;
      }
      dtsTicks = frame.ptsTicks;
      audio.start(dtsTicks);
    } else {
      dtsTicks = this.#advance(out, audio, frame.ptsTicks);
      if (dtsTicks === null) return;
    }
    let isCut = false;
    if (video !== null) {
      while (cuts.length > 0 && dtsTicks * video.timescale >= (cuts[0] ?? 0) * audio.timescale) {
        cuts.shift();
        isCut = true;
      }
    } else {
      isCut = this.#forceCut || audio.isDue(dtsTicks, this.#segmentDurationMs);
      this.#forceCut = false;
    }
    if (isCut) this.#close(out, audio, dtsTicks);
    audio.held = {
      dtsTicks,
      inputTicks: frame.ptsTicks,
      ctsOffsetTicks: 0,
      isSync: true,
      // A corrupt packet may claim no duration; fall back to the previous one (or 20 ms) so no sample is empty.
      fallbackDurationTicks: frame.durationTicks > 0
        ? frame.durationTicks
        : audio.lastDurationTicks > 0
        ? audio.lastDurationTicks
        : Math.round(audio.timescale / 50),
      data: frame.data,
    };
  }

  #close(out: Cut[], line: TrackLine, nextStartTicks: number): void {
    if (!line.close(out, nextStartTicks)) return;
    if (line.track === "video") this.#stats.videoSegments++;
    else this.#stats.audioSegments++;
  }

  #drop(
    reason: "droppedBeforeKeyframe" | "droppedNonIncreasing" | "droppedAudioWait",
  ): void {
    this.#stats[reason]++;
    this.#stats.droppedFrames++;
  }
}
