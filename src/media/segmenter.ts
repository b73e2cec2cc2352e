/**
 * The fMP4 segmenter: SegmentCutter's cuts written as CMAF media segments. Each fragment becomes moof + mdat (with
 * the styp in front when it opens a segment) as soon as it completes, so a caller can append it to disk and lose
 * little on a crash; each segment's end comes with its size. The cut decisions are all SegmentCutter's: another
 * container written from the same cuts lines up with this one. It does not write init segments, manifests or files.
 */

import { mediaFragment, mediaSegment } from "./fmp4.ts";
import {
  type AudioFrame,
  type Cut,
  type FragmentCut,
  type SegmentCut,
  SegmentCutter,
  type SegmenterOptions,
  type SegmenterStats,
  type VideoFrame,
} from "./segment_cutter.ts";

/**
 * A completed fragment of the open segment of one track (ISO/IEC 14496-12 §8.8.4): the cut, so that another container
 * can be written from it, and its fMP4 bytes.
 */
export interface FragmentOutput extends FragmentCut {
  /** styp + moof + mdat for the first fragment of a segment, moof + mdat for the others. */
  bytes: Uint8Array;
}

/** A completed segment: the concatenation of its fragments, all emitted before it, in order. */
export interface SegmentOutput extends SegmentCut {
  /** Sum of its fragments' byte lengths: the size of the segment file. */
  sizeBytes: number;
}

/** What `pushVideo`, `pushAudio` and `flush` return, in emission order. */
export type SegmenterOutput = FragmentOutput | SegmentOutput;

/** SegmentCutter writing fMP4: the same frames in, the same cuts, as bytes. */
export class Segmenter {
  readonly #cutter: SegmentCutter;
  /** Per track: the mfhd sequence number of the next fragment, from 1, never reused (ISO/IEC 14496-12 §8.8.5). */
  readonly #nextSequenceNumber = { video: 1, audio: 1 };
  /** Per track: the bytes of the open segment's fragments so far. */
  readonly #segmentSizeBytes = { video: 0, audio: 0 };

  /** See SegmentCutter's options; `opts` are trusted (validated by config), violations are bugs. */
  constructor(opts: SegmenterOptions) {
    this.#cutter = new SegmentCutter(opts);
  }

  /** Live counters of the cutter. */
  get stats(): Readonly<SegmenterStats> {
    return this.#cutter.stats;
  }

  /** See SegmentCutter.keyframeDue. */
  get keyframeDue(): boolean {
    return this.#cutter.keyframeDue;
  }

  /** See SegmentCutter.cutAtNextKeyframe. */
  cutAtNextKeyframe(): { track: "video" | "audio"; number: number } | undefined {
    return this.#cutter.cutAtNextKeyframe();
  }

  pushVideo(frame: VideoFrame): SegmenterOutput[] {
    return this.#write(this.#cutter.pushVideo(frame));
  }

  pushAudio(frame: AudioFrame): SegmenterOutput[] {
    return this.#write(this.#cutter.pushAudio(frame));
  }

  flush(): SegmenterOutput[] {
    return this.#write(this.#cutter.flush());
  }

  #write(cuts: Cut[]): SegmenterOutput[] {
    return cuts.map((cut): SegmenterOutput => {
      if (cut.type === "segment") {
        const sizeBytes = this.#segmentSizeBytes[cut.track];
        this.#segmentSizeBytes[cut.track] = 0;
        return { ...cut, sizeBytes };
      }
      const fragment = {
        sequenceNumber: this.#nextSequenceNumber[cut.track]++,
        trackId: cut.trackId,
        baseDecodeTimeTicks: cut.startTicks,
        samples: cut.samples,
      };
      const bytes = cut.firstOfSegment ? mediaSegment(fragment) : mediaFragment(fragment);
      this.#segmentSizeBytes[cut.track] += bytes.byteLength;
      return { ...cut, bytes };
    });
  }
}
