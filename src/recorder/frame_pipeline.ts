/**
 * The pure recording pipeline of a frame-based source (RTMP): whole frames with decode times and composition offsets
 * in, init segments and media segments out, as the RTP pipeline makes them. Both tracks share the source's
 * millisecond clock, so there is nothing to synchronise; video keeps its B-frames as composition offsets, and audio is
 * timed by its sample count, the millisecond timestamps only saying where a gap is. It does no I/O and reads no clock.
 */

import type { VideoFormat } from "../codec/mod.ts";
import { Segmenter } from "../media/mod.ts";
import type { FrameTrack, SourceFrame, TrackKind } from "./source.ts";
import {
  AUDIO_TRACK_ID,
  audioInit,
  FRAGMENT_DURATION_MS,
  noCounts,
  type PipelineOutput,
  type PipelineStats,
  sameFormat,
  VIDEO_TIMESCALE,
  VIDEO_TRACK_ID,
  videoInit,
} from "./track_outputs.ts";

/** An audio timestamp this far from where the frames before it end is a gap (or an overlap), not jitter. */
const AUDIO_GAP_MS = 40;

type VideoTrack = FrameTrack & { kind: "video" };
type AudioTrack = FrameTrack & { kind: "audio" };

/** One recording's frames-to-segments pipeline. */
export class FramePipeline {
  readonly #counts: PipelineStats = noCounts();
  readonly #segmenter: Segmenter;
  readonly #video: VideoTrack | undefined;
  readonly #audio: AudioTrack | undefined;
  #videoFormat: VideoFormat | undefined;
  /** The source clock's time (ms) at recording time 0, and our wall clock's when that frame arrived. */
  #zero: { sourceMs: number; arrivalMs: number } | undefined;
  /**
   * The first keyframe's composition offset in video ticks: every decode time is moved later by it, so that the
   * first keyframe's decode and presentation times are equal and B-frames get negative offsets (trun version 1);
   * presentation times stay the source's, so audio stays where the source put it against video.
   */
  #ctsShiftTicks = 0;
  /** Where the audio frames placed so far end: in audio ticks, and in the source's ms. */
  #audioEnd: { ticks: number; sourceMs: number } | undefined;

  constructor(opts: { tracks: readonly FrameTrack[]; segmentDurationMs: number; firstNumber: number }) {
    this.#video = opts.tracks.find((t): t is VideoTrack => t.kind === "video");
    this.#audio = opts.tracks.find((t): t is AudioTrack => t.kind === "audio");
    this.#segmenter = new Segmenter({
      segmentDurationMs: opts.segmentDurationMs,
      fragmentDurationMs: FRAGMENT_DURATION_MS,
      firstNumber: opts.firstNumber,
      ...(this.#video !== undefined ? { video: { trackId: VIDEO_TRACK_ID, timescale: VIDEO_TIMESCALE } } : {}),
      ...(this.#audio !== undefined
        ? { audio: { trackId: AUDIO_TRACK_ID, timescale: this.#audio.format.sampleRate } }
        : {}),
    });
  }

  /** The audio track's timescale (its sample rate); 48000 when there is no audio. */
  get audioTimescale(): number {
    return this.#audio?.format.sampleRate ?? 48_000;
  }

  /** True while video is expected but no usable keyframe came yet. */
  get waitingForKeyframe(): boolean {
    return this.#video !== undefined && this.#videoFormat === undefined;
  }

  /** Never: an RTMP publisher cannot be asked for a keyframe, it sends them on its own schedule. */
  get keyframeWanted(): boolean {
    return false;
  }

  /** See Segmenter.cutAtNextKeyframe. */
  cutAtNextKeyframe(): { track: TrackKind; number: number } | undefined {
    return this.#segmenter.cutAtNextKeyframe();
  }

  get stats(): PipelineStats {
    return { ...this.#counts, droppedFrames: this.#counts.droppedFrames + this.#segmenter.stats.droppedFrames };
  }

  /** True once the recording's time zero is fixed (its first frame was recorded). */
  get started(): boolean {
    return this.#zero !== undefined;
  }

  /** Unix ms (our clock) when the frame at media time 0 arrived; undefined before the first frame. */
  get zeroMs(): number | undefined {
    return this.#zero?.arrivalMs;
  }

  /** The audio init segment, available at once (the source knew the format before it published). */
  start(): PipelineOutput[] {
    const audio = this.#audio;
    return audio === undefined ? [] : [audioInit(audio.format, audio.format.sampleRate)];
  }

  pushFrame(kind: TrackKind, frame: SourceFrame, arrivalMs: number): PipelineOutput[] {
    const out: PipelineOutput[] = [];
    if (kind === "video" && this.#video !== undefined) this.#pushVideo(this.#video, frame, arrivalMs, out);
    else if (kind === "audio" && this.#audio !== undefined) this.#pushAudio(this.#audio, frame, arrivalMs, out);
    return out;
  }

  /** Closes the open segments; the pipeline is done afterwards. */
  flush(): PipelineOutput[] {
    return this.#segmenter.flush();
  }

  #pushVideo(video: VideoTrack, frame: SourceFrame, arrivalMs: number, out: PipelineOutput[]): void {
    this.#counts.videoPackets++;
    if (frame.keyframe) {
      const format = video.codec.format({ timestamp: 0, keyframe: true, data: frame.data }, video.parameterSets);
      if (format === undefined) {
        if (this.#videoFormat === undefined) {
          this.#counts.keyframesWithoutParameterSets++;
          return;
        }
      } else if (this.#videoFormat === undefined) {
        this.#videoFormat = format;
        out.push(videoInit(format, VIDEO_TIMESCALE));
      } else if (!sameFormat(format, this.#videoFormat)) {
        // A keyframe in another format starts a new init segment after the segment it ends.
        const last = this.#segmenter.cutAtNextKeyframe();
        this.#videoFormat = format;
        this.#counts.formatChanges++;
        out.push(
          last === undefined
            ? videoInit(format, VIDEO_TIMESCALE)
            : { ...videoInit(format, VIDEO_TIMESCALE), after: last },
        );
      }
    }
    if (this.#videoFormat === undefined) {
      this.#counts.droppedFrames++;
      return;
    }
    if (this.#zero === undefined) {
      this.#zero = { sourceMs: frame.dtsMs, arrivalMs };
      this.#ctsShiftTicks = ticksOf(frame.ctsOffsetMs, VIDEO_TIMESCALE);
    }
    const dtsTicks = ticksOf(frame.dtsMs - this.#zero.sourceMs, VIDEO_TIMESCALE) + this.#ctsShiftTicks;
    this.#counts.videoFrames++;
    out.push(...this.#segmenter.pushVideo({
      dtsTicks,
      ctsOffsetTicks: ticksOf(frame.ctsOffsetMs, VIDEO_TIMESCALE) - this.#ctsShiftTicks,
      isKeyframe: frame.keyframe,
      data: frame.data,
    }));
  }

  #pushAudio(audio: AudioTrack, frame: SourceFrame, arrivalMs: number, out: PipelineOutput[]): void {
    this.#counts.audioPackets++;
    const durationTicks = audio.format.frameDurationTicks(frame.data);
    if (durationTicks === 0) {
      this.#counts.droppedFrames++;
      return;
    }
    // Video defines time zero (its first keyframe); audio does only when there is no video.
    if (this.#zero === undefined) {
      if (this.#video !== undefined) {
        this.#counts.droppedFrames++;
        return;
      }
      this.#zero = { sourceMs: frame.dtsMs, arrivalMs };
    }
    const timescale = audio.format.sampleRate;
    const end = this.#audioEnd;
    // Millisecond timestamps cannot time 1024-sample frames exactly: within AUDIO_GAP_MS of where the previous frames
    // end, a frame follows them seamlessly.
    const ptsTicks = end !== undefined && Math.abs(frame.dtsMs - end.sourceMs) <= AUDIO_GAP_MS
      ? end.ticks
      : ticksOf(frame.dtsMs - this.#zero.sourceMs, timescale);
    if (ptsTicks < 0) {
      this.#counts.droppedFrames++;
      return;
    }
    const endTicks = ptsTicks + durationTicks;
    this.#audioEnd = {
      ticks: endTicks,
      sourceMs: this.#zero.sourceMs + endTicks * 1000 / timescale,
    };
    this.#counts.audioFrames++;
    out.push(...this.#segmenter.pushAudio({ ptsTicks, durationTicks, data: frame.data }));
  }
}

/** Milliseconds as ticks of `timescale`, rounded. */
function ticksOf(ms: number, timescale: number): number {
  return Math.round(ms * timescale / 1000);
}
