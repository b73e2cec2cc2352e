/**
 * VP9 superframes (VP9 Bitstream Specification v0.6, Annex B): several frames in one chunk followed by an index of
 * their sizes. Splitting finds the frames of a chunk; building writes the index an encoder would, with the smallest
 * size field that fits (as libvpx does). A chunk whose last byte is not a marker, or whose index does not start with
 * the same marker, is one frame (Annex B.4).
 */

import { BadRequestError } from "../../shared/errors.ts";

/** At most 8 frames fit one index: frames_in_superframe_minus_1 has 3 bits. */
export const MAX_SUPERFRAME_FRAMES = 8;

/**
 * The frames of `chunk`, or `[chunk]` when it has no superframe index. Throws `BadRequestError` for an index that
 * cannot describe the chunk: a frame of size 0, or sizes adding up to more than the bytes before the index. Bytes
 * left between the last frame and the index are ignored, as libvpx and ffmpeg do.
 */
export function splitVp9Superframe(chunk: Uint8Array): Uint8Array[] {
  const marker = chunk[chunk.length - 1];
  if (marker === undefined) throw new BadRequestError("invalid VP9 chunk: it is empty");
  if ((marker & 0xe0) !== 0xc0) return [chunk];
  const sizeBytes = ((marker >> 3) & 0x03) + 1;
  const frameCount = (marker & 0x07) + 1;
  const indexBytes = 2 + sizeBytes * frameCount;
  if (chunk.length < indexBytes || chunk[chunk.length - indexBytes] !== marker) return [chunk];
  const dataBytes = chunk.length - indexBytes;
  const frames: Uint8Array[] = [];
  let indexOffset = chunk.length - indexBytes + 1;
  let offset = 0;
  for (let i = 0; i < frameCount; i++) {
    let size = 0;
    for (let b = 0; b < sizeBytes; b++) size += chunk[indexOffset + b]! * 2 ** (8 * b); // little-endian
    indexOffset += sizeBytes;
    if (size === 0 || offset + size > dataBytes) {
      throw new BadRequestError(
        `invalid VP9 superframe: frame ${i} of ${frameCount} has ${size} bytes, ${dataBytes - offset} are left`,
      );
    }
    frames.push(chunk.subarray(offset, offset + size));
    offset += size;
  }
  return frames;
}

/** One chunk holding `frames` (1..8, none empty) and their index (Annex B.2). */
export function buildVp9Superframe(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length < 1 || frames.length > MAX_SUPERFRAME_FRAMES) {
    throw new BadRequestError(`VP9 superframe: 1 to ${MAX_SUPERFRAME_FRAMES} frames, got ${frames.length}`);
  }
  const largest = Math.max(...frames.map((frame) => frame.length));
  if (frames.some((frame) => frame.length === 0)) throw new BadRequestError("VP9 superframe: an empty frame");
  let sizeBytes = 1;
  while (sizeBytes < 4 && largest >= 2 ** (8 * sizeBytes)) sizeBytes++;
  if (largest >= 2 ** (8 * sizeBytes)) throw new BadRequestError(`VP9 superframe: a ${largest}-byte frame`);
  const marker = 0xc0 | ((sizeBytes - 1) << 3) | (frames.length - 1);
  const dataBytes = frames.reduce((total, frame) => total + frame.length, 0);
  const out = new Uint8Array(dataBytes + 2 + sizeBytes * frames.length);
  let offset = 0;
  for (const frame of frames) {
    out.set(frame, offset);
    offset += frame.length;
  }
  out[offset++] = marker;
  for (const frame of frames) {
    for (let b = 0; b < sizeBytes; b++) out[offset++] = Math.floor(frame.length / 2 ** (8 * b)) & 0xff;
  }
  out[offset] = marker;
  return out;
}
