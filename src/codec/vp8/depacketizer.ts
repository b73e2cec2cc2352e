/**
 * Reassembles VP8 frames from ordered RTP packets (RFC 7741). A frame starts with a packet whose descriptor has S = 1
 * and PID = 0 and ends with the marker bit (or a timestamp change); the payloads after the descriptors are
 * concatenated, so `Frame.data` is the VP8 frame exactly as the encoder wrote it. Anything that breaks a frame (a
 * loss, a missing start, a malformed descriptor, a key frame without a valid header, growth past the size bound)
 * drops it and everything after it until a key frame. It never throws. Partition boundaries and the picture ID are
 * not checked: sequence numbers already prove that nothing is missing.
 */

import type { Depacketizer, DepacketizerStats, Frame } from "../codec.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import { parseVp8Descriptor, type Vp8Descriptor } from "./descriptor.ts";
import { isVp8Keyframe } from "./frame_header.ts";

/** Counters since construction. */
export interface Vp8DepacketizerStats extends DepacketizerStats {
  /** Frames dropped because the P bit says key frame but the key frame header is wrong (also in `droppedFrames`). */
  corruptFrames: number;
}

/** Limits for untrusted streams. */
export interface Vp8DepacketizerOptions {
  /** A frame growing beyond this many bytes is dropped; default 16 MiB. */
  maxFrameBytes?: number;
}

interface PendingFrame {
  timestamp: number;
  chunks: Uint8Array[];
  sizeBytes: number;
  /** Something is missing or corrupt; it will be dropped. */
  broken: boolean;
}

const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** RTP payloads of one VP8 stream to frames (RFC 7741 §4.2, §4.5). */
export class Vp8Depacketizer implements Depacketizer {
  /** Counters since construction. */
  readonly stats: Vp8DepacketizerStats = {
    frames: 0,
    droppedFrames: 0,
    malformedPackets: 0,
    lostPackets: 0,
    corruptFrames: 0,
  };
  readonly #maxFrameBytes: number;
  #frame: PendingFrame | undefined;
  #waitingForKeyframe = true;

  constructor(options: Vp8DepacketizerOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** True until an intact key frame arrives, and again after any loss or corruption. */
  get waitingForKeyframe(): boolean {
    return this.#waitingForKeyframe;
  }

  /** Takes the next packet or loss in sequence order; returns the frames it completes. */
  push(input: ReorderOutput): Frame[] {
    const out: Frame[] = [];
    if (input.type === "loss") {
      this.stats.lostPackets += input.count;
      if (this.#frame !== undefined) this.#frame.broken = true;
      this.#waitingForKeyframe = true;
      return out;
    }
    const { payload, timestamp, marker } = input.packet;
    if (this.#frame !== undefined && this.#frame.timestamp !== timestamp) this.#finish(out);
    let descriptor: Vp8Descriptor | undefined;
    try {
      descriptor = parseVp8Descriptor(payload);
    } catch {
      this.stats.malformedPackets++;
    }
    const startsFrame = descriptor !== undefined && descriptor.startOfPartition && descriptor.partitionIndex === 0;
    if (this.#frame !== undefined && startsFrame) {
      // A second frame start within one frame: the first never ended, though no packet is missing.
      this.stats.malformedPackets++;
      this.#frame.broken = true;
    }
    // A frame whose first packet is not a frame start has lost its beginning.
    const frame = this.#frame ??= { timestamp, chunks: [], sizeBytes: 0, broken: !startsFrame };
    if (descriptor === undefined) {
      frame.broken = true;
    } else if (!frame.broken) {
      this.#append(frame, payload.subarray(descriptor.sizeBytes));
    }
    if (marker) this.#finish(out);
    return out;
  }

  /** Ends the stream: emits the pending frame if it is intact. */
  flush(): Frame[] {
    const out: Frame[] = [];
    this.#finish(out);
    return out;
  }

  #append(frame: PendingFrame, chunk: Uint8Array): void {
    frame.sizeBytes += chunk.length;
    if (frame.sizeBytes > this.#maxFrameBytes) {
      frame.broken = true;
      frame.chunks = [];
      return;
    }
    frame.chunks.push(chunk);
  }

  #finish(out: Frame[]): void {
    const frame = this.#frame;
    if (frame === undefined) return;
    this.#frame = undefined;
    if (frame.broken) return this.#drop();
    const data = concat(frame.chunks, frame.sizeBytes);
    // The P bit (RFC 7741 §4.3) says key frame; one whose header does not parse cannot start decoding.
    const keyframe = (data[0]! & 1) === 0;
    if (keyframe && !isVp8Keyframe(data)) {
      this.stats.corruptFrames++;
      return this.#drop();
    }
    if (this.#waitingForKeyframe && !keyframe) {
      this.stats.droppedFrames++;
      return;
    }
    this.#waitingForKeyframe = false;
    this.stats.frames++;
    out.push({ timestamp: frame.timestamp, keyframe, data });
  }

  #drop(): void {
    this.stats.droppedFrames++;
    this.#waitingForKeyframe = true;
  }
}

function concat(chunks: Uint8Array[], sizeBytes: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(sizeBytes);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
