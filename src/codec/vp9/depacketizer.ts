/**
 * Reassembles VP9 samples from ordered RTP packets (RFC 9628), in flexible and non-flexible mode alike. A frame runs
 * from a packet with B = 1 to one with E = 1; a picture (all spatial layer frames of one timestamp) ends with the
 * marker bit or a timestamp change. A picture of one frame is its sample unchanged (it may already be an encoder's
 * superframe); a picture of several frames becomes one superframe with an Annex B index, lowest layer first, which
 * is what libvpx's own SVC encoder writes and what a decoder given one sample per timestamp expects. Anything that
 * breaks a picture (a loss, a frame without its start or end, a malformed descriptor, an impossible superframe
 * index, a first frame whose header does not parse, growth past the size bound) drops it and everything after it
 * until a key frame. It never throws. Picture IDs, TL0PICIDX and reference indices are not used: sequence numbers
 * already prove that nothing is missing, and dropping to a key frame makes references safe.
 */

import type { Depacketizer, DepacketizerStats, Frame } from "../codec.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import { BadRequestError } from "../../shared/errors.ts";
import { parseVp9Descriptor, type Vp9Descriptor } from "./descriptor.ts";
import { vp9SampleInfo } from "./frame_header.ts";
import { buildVp9Superframe, MAX_SUPERFRAME_FRAMES, splitVp9Superframe } from "./superframe.ts";

/** Counters since construction. */
export interface Vp9DepacketizerStats extends DepacketizerStats {
  /** Pictures dropped because their bitstream is wrong (also counted in `droppedFrames`). */
  corruptFrames: number;
}

/** Limits for untrusted streams. */
export interface Vp9DepacketizerOptions {
  /** A picture growing beyond this many bytes is dropped; default 16 MiB. */
  maxFrameBytes?: number;
}

interface PendingPicture {
  timestamp: number;
  /** Complete frames (spatial layers) in arrival order. */
  frames: Uint8Array[];
  /** Chunks of the frame being received: B seen, E not yet. */
  open: Uint8Array[] | undefined;
  sizeBytes: number;
  /** Something is missing or corrupt; it will be dropped. */
  broken: boolean;
}

const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** RTP payloads of one VP9 stream to samples (RFC 9628 §4.1 marker bit, §4.2 B and E bits). */
export class Vp9Depacketizer implements Depacketizer {
  /** Counters since construction. */
  readonly stats: Vp9DepacketizerStats = {
    frames: 0,
    droppedFrames: 0,
    malformedPackets: 0,
    lostPackets: 0,
    corruptFrames: 0,
  };
  readonly #maxFrameBytes: number;
  #picture: PendingPicture | undefined;
  #waitingForKeyframe = true;

  constructor(options: Vp9DepacketizerOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** True until an intact key picture arrives, and again after any loss or corruption. */
  get waitingForKeyframe(): boolean {
    return this.#waitingForKeyframe;
  }

  /** Takes the next packet or loss in sequence order; returns the samples it completes. */
  push(input: ReorderOutput): Frame[] {
    const out: Frame[] = [];
    if (input.type === "loss") {
      this.stats.lostPackets += input.count;
      if (this.#picture !== undefined) this.#picture.broken = true;
      this.#waitingForKeyframe = true;
      return out;
    }
    const { payload, timestamp, marker } = input.packet;
    if (this.#picture !== undefined && this.#picture.timestamp !== timestamp) this.#finish(out);
    const picture = this.#picture ??= { timestamp, frames: [], open: undefined, sizeBytes: 0, broken: false };
    let descriptor: Vp9Descriptor | undefined;
    try {
      descriptor = parseVp9Descriptor(payload);
    } catch {
      this.stats.malformedPackets++;
      picture.broken = true;
    }
    if (descriptor !== undefined && !picture.broken) this.#read(picture, descriptor, payload);
    if (marker) this.#finish(out);
    return out;
  }

  /** Ends the stream: emits the pending picture if it is intact. */
  flush(): Frame[] {
    const out: Frame[] = [];
    this.#finish(out);
    return out;
  }

  #read(picture: PendingPicture, descriptor: Vp9Descriptor, payload: Uint8Array): void {
    if (descriptor.beginsFrame) {
      if (picture.open !== undefined) return this.#break(picture); // the previous frame never ended
      picture.open = [];
    } else if (picture.open === undefined) {
      return this.#break(picture); // a frame whose start is missing
    }
    const chunk = payload.subarray(descriptor.sizeBytes);
    picture.sizeBytes += chunk.length;
    if (picture.sizeBytes > this.#maxFrameBytes) return this.#break(picture);
    picture.open.push(chunk);
    if (descriptor.endsFrame) {
      picture.frames.push(concat(picture.open));
      picture.open = undefined;
    }
  }

  #break(picture: PendingPicture): void {
    picture.broken = true;
    picture.frames = [];
    picture.open = undefined;
  }

  #finish(out: Frame[]): void {
    const picture = this.#picture;
    if (picture === undefined) return;
    this.#picture = undefined;
    if (picture.broken || picture.open !== undefined || picture.frames.length === 0) {
      this.#drop();
      return;
    }
    let data: Uint8Array;
    let keyframe: boolean;
    try {
      data = picture.frames.length === 1 ? picture.frames[0]! : joinLayers(picture.frames);
      keyframe = vp9SampleInfo(data).keyframe;
    } catch {
      this.stats.corruptFrames++;
      this.#drop();
      return;
    }
    if (this.#waitingForKeyframe && !keyframe) {
      this.stats.droppedFrames++;
      return;
    }
    this.#waitingForKeyframe = false;
    this.stats.frames++;
    out.push({ timestamp: picture.timestamp, keyframe, data });
  }

  #drop(): void {
    this.stats.droppedFrames++;
    this.#waitingForKeyframe = true;
  }
}

/** The frames of a picture's layers (each possibly a superframe itself) as one superframe (Annex B). */
function joinLayers(layers: Uint8Array[]): Uint8Array {
  const frames = layers.flatMap(splitVp9Superframe);
  if (frames.length > MAX_SUPERFRAME_FRAMES) {
    throw new BadRequestError(`invalid VP9 picture: ${frames.length} frames do not fit one superframe index`);
  }
  return buildVp9Superframe(frames);
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
