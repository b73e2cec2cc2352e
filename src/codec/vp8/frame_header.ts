/**
 * Reads the uncompressed start of a VP8 frame (RFC 6386 §9.1): the 3-byte frame tag and, for a key frame, the start
 * code and the 14-bit width and height. It does not start the boolean decoder, so the key frame's color_space and
 * clamping_type bits (§9.2, inside the first partition) are not read.
 */

import { BadRequestError } from "../../shared/errors.ts";

/** What the uncompressed data chunk of a VP8 frame says (RFC 6386 §9.1). */
export interface Vp8FrameHeader {
  /** frame_type 0: decodable without any other frame. */
  keyframe: boolean;
  /** The version number, 0..3 (§9.1): the reconstruction filter and loop filter type; the vpcC profile. */
  version: number;
  /** show_frame: the frame is displayed (0 for a golden or altref update that is only referenced). */
  showFrame: boolean;
  /** first_part_size: bytes in the first partition after the uncompressed chunk. */
  firstPartitionBytes: number;
  /** Key frames only: the 14-bit width in pixels (the 2-bit horizontal_scale is not applied). */
  widthPx?: number;
  /** Key frames only: the 14-bit height in pixels (the 2-bit vertical_scale is not applied). */
  heightPx?: number;
}

/** A key frame's uncompressed chunk: frame tag, start code, width and height (RFC 6386 §9.1). */
export const VP8_KEYFRAME_HEADER_BYTES = 10;

/** Parses the frame tag and, for a key frame, its start code and size (RFC 6386 §9.1, §19.1). */
export function parseVp8FrameHeader(frame: Uint8Array): Vp8FrameHeader {
  if (frame.length < 3) throw new BadRequestError(`invalid VP8 frame: ${frame.length} bytes has no 3-byte frame tag`);
  const tag = frame[0]! | (frame[1]! << 8) | (frame[2]! << 16);
  const keyframe = (tag & 1) === 0;
  const version = (tag >> 1) & 7;
  const header: Vp8FrameHeader = {
    keyframe,
    version,
    showFrame: ((tag >> 4) & 1) === 1,
    firstPartitionBytes: tag >>> 5,
  };
  if (!keyframe) return header;
  if (version > 3) throw new BadRequestError(`invalid VP8 key frame: version ${version} is not 0 to 3`);
  if (frame.length < VP8_KEYFRAME_HEADER_BYTES) {
    throw new BadRequestError(`invalid VP8 key frame: ${frame.length} bytes is shorter than its 10-byte header`);
  }
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) {
    throw new BadRequestError(`invalid VP8 key frame: start code ${hex(frame.subarray(3, 6))}, expected 9d012a`);
  }
  const widthPx = (frame[6]! | (frame[7]! << 8)) & 0x3fff;
  const heightPx = (frame[8]! | (frame[9]! << 8)) & 0x3fff;
  if (widthPx === 0 || heightPx === 0) {
    throw new BadRequestError(`invalid VP8 key frame: size ${widthPx}x${heightPx}`);
  }
  return { ...header, widthPx, heightPx };
}

/** True for a frame whose tag says key frame and whose key frame header is intact; never throws. */
export function isVp8Keyframe(frame: Uint8Array): boolean {
  try {
    return parseVp8FrameHeader(frame).keyframe;
  } catch {
    return false;
  }
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
