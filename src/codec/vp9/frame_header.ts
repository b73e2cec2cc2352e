/**
 * Reads the start of a VP9 frame's uncompressed header (VP9 Bitstream Specification v0.6 §6.2, §7.2): frame type,
 * profile, colour configuration and frame size, plus the reference slots an inter frame takes its size from. It
 * stops after the frame size; loop filter, quantizer, segmentation and tile fields are not read. `vp9SampleInfo`
 * follows the frames of a sample (a superframe of spatial layers or hidden frames) to the size the decoder shows.
 */

import { BadRequestError } from "../../shared/errors.ts";
import { BitReader } from "../bit_reader.ts";
import { splitVp9Superframe } from "./superframe.ts";

/** color_space values (§7.2.2, Table "color_space"). */
export const Vp9ColorSpace = {
  Unknown: 0,
  Bt601: 1,
  Bt709: 2,
  Smpte170: 3,
  Smpte240: 4,
  Bt2020: 5,
  Reserved: 6,
  Rgb: 7,
} as const;

/** color_config() (§6.2.2): what key frames and intra-only frames of profiles 1-3 carry. */
export interface Vp9ColorConfig {
  /** BitDepth: 8, 10 or 12. */
  bitDepth: number;
  /** color_space, see `Vp9ColorSpace`. */
  colorSpace: number;
  /** color_range: 1 full range (always for RGB), 0 studio range. */
  fullRange: boolean;
  /** subsampling_x: chroma has half the luma width. */
  subsamplingX: boolean;
  /** subsampling_y: chroma has half the luma height. */
  subsamplingY: boolean;
}

/** The fields of an uncompressed header up to the frame size (§6.2). */
export interface Vp9FrameHeader {
  /** Profile, 0..3. */
  profile: number;
  /** show_existing_frame: the frame only shows slot `frameToShow`; nothing else follows. */
  showExistingFrame: boolean;
  /** frame_to_show_map_idx when `showExistingFrame`. */
  frameToShow?: number;
  /** frame_type == KEY_FRAME (and not a show-existing frame): decoding can start here. */
  keyframe: boolean;
  /** show_frame. */
  showFrame: boolean;
  /** intra_only: a non-key frame that needs no reference. */
  intraOnly: boolean;
  /** Key frames and intra-only frames; profile 0 intra-only frames imply 8-bit 4:2:0 BT.601. */
  color?: Vp9ColorConfig;
  /** refresh_frame_flags: the slots this frame's picture is stored in (all 8 for a key frame). */
  refreshFrameFlags: number;
  /** frame_width_minus_1 + 1 when the header states it. */
  widthPx?: number;
  /** frame_height_minus_1 + 1 when the header states it. */
  heightPx?: number;
  /** The slot whose size an inter frame reuses (found_ref), instead of stating one. */
  sizeFromSlot?: number;
}

const FRAME_MARKER = 2;
const SYNC_CODE = 0x498342;

/** Parses a single frame's uncompressed header up to its frame size; throws `BadRequestError` when invalid. */
export function parseVp9FrameHeader(frame: Uint8Array): Vp9FrameHeader {
  const reader = new BitReader(frame, "VP9 frame header");
  const marker = reader.bits(2, "frame_marker");
  if (marker !== FRAME_MARKER) {
    throw new BadRequestError(`invalid VP9 frame header: frame_marker ${marker}, expected 2`);
  }
  const low = reader.bits(1, "profile_low_bit");
  const profile = (reader.bits(1, "profile_high_bit") << 1) | low;
  if (profile === 3 && reader.flag("reserved_zero")) {
    throw new BadRequestError("invalid VP9 frame header: profile 3 with its reserved bit set (profile 4+)");
  }
  if (reader.flag("show_existing_frame")) {
    const frameToShow = reader.bits(3, "frame_to_show_map_idx");
    return {
      profile,
      showExistingFrame: true,
      frameToShow,
      keyframe: false,
      showFrame: true,
      intraOnly: false,
      refreshFrameFlags: 0,
    };
  }
  const keyframe = reader.bits(1, "frame_type") === 0;
  const showFrame = reader.flag("show_frame");
  const errorResilient = reader.flag("error_resilient_mode");
  const header: Vp9FrameHeader = {
    profile,
    showExistingFrame: false,
    keyframe,
    showFrame,
    intraOnly: false,
    refreshFrameFlags: 0xff,
  };
  if (keyframe) {
    readSyncCode(reader);
    header.color = readColorConfig(reader, profile);
    return readFrameSize(reader, header);
  }
  header.intraOnly = showFrame ? false : reader.flag("intra_only");
  if (!errorResilient) reader.bits(2, "reset_frame_context");
  if (header.intraOnly) {
    readSyncCode(reader);
    header.color = profile > 0 ? readColorConfig(reader, profile) : {
      bitDepth: 8,
      colorSpace: Vp9ColorSpace.Bt601,
      fullRange: false,
      subsamplingX: true,
      subsamplingY: true,
    };
    header.refreshFrameFlags = reader.bits(8, "refresh_frame_flags");
    return readFrameSize(reader, header);
  }
  header.refreshFrameFlags = reader.bits(8, "refresh_frame_flags");
  const refFrameIdx: number[] = [];
  for (let i = 0; i < 3; i++) {
    refFrameIdx.push(reader.bits(3, "ref_frame_idx"));
    reader.bits(1, "ref_frame_sign_bias");
  }
  for (const slot of refFrameIdx) {
    if (reader.flag("found_ref")) return { ...header, sizeFromSlot: slot };
  }
  return readFrameSize(reader, header);
}

function readSyncCode(reader: BitReader): void {
  const code = reader.bits(24, "frame_sync_code");
  if (code !== SYNC_CODE) {
    throw new BadRequestError(`invalid VP9 frame header: sync code ${code.toString(16)}, expected 498342`);
  }
}

/** color_config() (§6.2.2) with the conformance rules libvpx enforces on the subsampling of each profile. */
function readColorConfig(reader: BitReader, profile: number): Vp9ColorConfig {
  const bitDepth = profile >= 2 ? (reader.flag("ten_or_twelve_bit") ? 12 : 10) : 8;
  const colorSpace = reader.bits(3, "color_space");
  const oddProfile = profile === 1 || profile === 3;
  if (colorSpace === Vp9ColorSpace.Rgb) {
    if (!oddProfile) throw new BadRequestError(`invalid VP9 frame header: RGB in profile ${profile}`);
    if (reader.flag("reserved_zero")) throw new BadRequestError("invalid VP9 frame header: reserved bit set");
    return { bitDepth, colorSpace, fullRange: true, subsamplingX: false, subsamplingY: false };
  }
  const fullRange = reader.flag("color_range");
  if (!oddProfile) return { bitDepth, colorSpace, fullRange, subsamplingX: true, subsamplingY: true };
  const subsamplingX = reader.flag("subsampling_x");
  const subsamplingY = reader.flag("subsampling_y");
  if (subsamplingX && subsamplingY) {
    throw new BadRequestError(`invalid VP9 frame header: 4:2:0 in profile ${profile}, which is for 4:2:2/4:4:0/4:4:4`);
  }
  if (reader.flag("reserved_zero")) throw new BadRequestError("invalid VP9 frame header: reserved bit set");
  return { bitDepth, colorSpace, fullRange, subsamplingX, subsamplingY };
}

function readFrameSize(reader: BitReader, header: Vp9FrameHeader): Vp9FrameHeader {
  header.widthPx = reader.bits(16, "frame_width_minus_1") + 1;
  header.heightPx = reader.bits(16, "frame_height_minus_1") + 1;
  return header;
}

/** What a sample (one frame or a superframe) is, for the depacketizer and the row. */
export interface Vp9SampleInfo {
  /** The first frame is a key frame: decoding can start at this sample. */
  keyframe: boolean;
  /** Header of the sample's first frame. */
  first: Vp9FrameHeader;
  /** Width of the last frame the sample shows (its top spatial layer), when the sample itself tells it. */
  widthPx?: number;
  /** Height of that frame. */
  heightPx?: number;
}

/**
 * Parses every frame header of a sample and follows the frame sizes through the reference slots, so that a
 * superframe of spatial layers reports the size of its top layer, which the decoder outputs. Throws
 * `BadRequestError` for an impossible superframe index or a frame header that does not parse.
 */
export function vp9SampleInfo(sample: Uint8Array): Vp9SampleInfo {
  const headers = splitVp9Superframe(sample).map(parseVp9FrameHeader);
  const first = headers[0]!; // a chunk has at least one frame
  const slots: (FrameSize | undefined)[] = new Array(8).fill(undefined);
  let shown: FrameSize | undefined;
  for (const header of headers) {
    let size: FrameSize | undefined;
    if (header.showExistingFrame) size = slots[header.frameToShow!];
    else if (header.sizeFromSlot !== undefined) size = slots[header.sizeFromSlot];
    else if (header.widthPx !== undefined && header.heightPx !== undefined) {
      size = { widthPx: header.widthPx, heightPx: header.heightPx };
    }
    for (let slot = 0; slot < 8; slot++) {
      if ((header.refreshFrameFlags & (1 << slot)) !== 0) slots[slot] = size;
    }
    if (header.showFrame && size !== undefined) shown = size;
  }
  // A sample that shows nothing (a hidden key frame) has the size of its first frame.
  if (shown === undefined && first.widthPx !== undefined && first.heightPx !== undefined) {
    shown = { widthPx: first.widthPx, heightPx: first.heightPx };
  }
  return { keyframe: first.keyframe, first, ...shown };
}

interface FrameSize {
  widthPx: number;
  heightPx: number;
}
