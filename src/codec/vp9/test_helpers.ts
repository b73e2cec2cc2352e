/**
 * Test-only builders of VP9 uncompressed headers (VP9 Bitstream Specification v0.6 §6.2), written bit by bit so that
 * tests can make key, intra-only, inter and show-existing frames of any profile, and a reader of ffmpeg's
 * trace_headers output as an independent parse of real frames. Production code never imports it.
 */

/** Big-endian bit writer; `bytes()` pads the last byte with zeros. */
class BitWriter {
  readonly #bits: number[] = [];

  put(value: number, width: number): this {
    for (let i = width - 1; i >= 0; i--) this.#bits.push(Math.floor(value / 2 ** i) & 1);
    return this;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.#bits.length / 8));
    this.#bits.forEach((bit, i) => out[i >> 3]! |= bit << (7 - (i & 7)));
    return out;
  }
}

/** Stand-in for the compressed header and tile data that follow the uncompressed header. */
const BODY = [0xa5, 0x5a, 0x33];

function start(profile: number): BitWriter {
  const writer = new BitWriter().put(2, 2).put(profile & 1, 1).put(profile >> 1, 1);
  if (profile === 3) writer.put(0, 1);
  return writer;
}

/** color_config() fields as written (§6.2.2). */
export interface ColorFields {
  /** 10 or 12 for profiles 2 and 3. */
  bitDepth?: number;
  colorSpace?: number;
  fullRange?: boolean;
  /** subsampling_x and subsampling_y for profiles 1 and 3. */
  subsampling?: [number, number];
}

function putColor(writer: BitWriter, profile: number, color: ColorFields): void {
  if (profile >= 2) writer.put(color.bitDepth === 12 ? 1 : 0, 1);
  const colorSpace = color.colorSpace ?? 0;
  writer.put(colorSpace, 3);
  if (colorSpace !== 7) {
    writer.put(color.fullRange ? 1 : 0, 1);
    if (profile === 1 || profile === 3) {
      writer.put(color.subsampling?.[0] ?? 0, 1).put(color.subsampling?.[1] ?? 0, 1).put(0, 1);
    }
  } else if (profile === 1 || profile === 3) {
    writer.put(0, 1);
  }
}

function end(writer: BitWriter, widthPx: number, heightPx: number): Uint8Array {
  writer.put(widthPx - 1, 16).put(heightPx - 1, 16).put(0, 1); // frame size, render_and_frame_size_different
  return Uint8Array.of(...writer.bytes(), ...BODY);
}

/** A key frame (frame_type 0). */
export function keyFrame(
  { profile = 0, widthPx = 320, heightPx = 240, showFrame = true, ...color }:
    & { profile?: number; widthPx?: number; heightPx?: number; showFrame?: boolean }
    & ColorFields = {},
): Uint8Array {
  const writer = start(profile).put(0, 1).put(0, 1).put(showFrame ? 1 : 0, 1).put(0, 1).put(0x498342, 24);
  putColor(writer, profile, color);
  return end(writer, widthPx, heightPx);
}

/** A hidden intra-only frame refreshing `refresh`. */
export function intraOnlyFrame(
  { profile = 0, widthPx = 320, heightPx = 240, refresh = 0x01, ...color }:
    & { profile?: number; widthPx?: number; heightPx?: number; refresh?: number }
    & ColorFields = {},
): Uint8Array {
  const writer = start(profile).put(0, 1).put(1, 1).put(0, 1).put(0, 1); // inter type, hidden, not error resilient
  writer.put(1, 1).put(0, 2).put(0x498342, 24); // intra_only, reset_frame_context, sync code
  if (profile > 0) putColor(writer, profile, color);
  writer.put(refresh, 8);
  return end(writer, widthPx, heightPx);
}

/**
 * An inter frame predicting from slots `refs`; with `foundRef` its size is that of refs[foundRef], otherwise it
 * states `widthPx` × `heightPx`.
 */
export function interFrame(
  {
    profile = 0,
    showFrame = true,
    errorResilient = false,
    refresh = 0x01,
    refs = [0, 1, 2],
    foundRef,
    widthPx = 320,
    heightPx = 240,
  }: {
    profile?: number;
    showFrame?: boolean;
    errorResilient?: boolean;
    refresh?: number;
    refs?: number[];
    foundRef?: number;
    widthPx?: number;
    heightPx?: number;
  } = {},
): Uint8Array {
  const writer = start(profile).put(0, 1).put(1, 1).put(showFrame ? 1 : 0, 1).put(errorResilient ? 1 : 0, 1);
  if (!showFrame) writer.put(0, 1); // intra_only
  if (!errorResilient) writer.put(0, 2); // reset_frame_context
  writer.put(refresh, 8);
  for (const slot of refs) writer.put(slot, 3).put(0, 1);
  if (foundRef !== undefined) {
    for (let i = 0; i <= foundRef; i++) writer.put(i === foundRef ? 1 : 0, 1);
    return Uint8Array.of(...writer.bytes(), ...BODY);
  }
  writer.put(0, 3);
  return end(writer, widthPx, heightPx);
}

/** A show_existing_frame frame showing `slot`. */
export function showExistingFrame(slot: number, profile = 0): Uint8Array {
  return start(profile).put(1, 1).put(slot, 3).bytes();
}

/** One frame as ffmpeg's trace_headers bitstream filter reports it. */
export interface TracedFrame {
  showExistingFrame: boolean;
  /** frame_type 0; undefined for a show-existing frame. */
  keyframe?: boolean;
  showFrame?: boolean;
  /** refresh_frame_flags when the header has the field (not for key frames). */
  refreshFrameFlags?: number;
  /** "WxH" from its "Frame: size" summary, when it prints one. */
  size?: string;
  /** bit_depth from that summary. */
  bitDepth?: number;
}

/** Every frame of `path` (superframes split) as ffmpeg's cbs_vp9 parses it, through `-bsf:v trace_headers`. */
export async function traceFrames(path: string): Promise<TracedFrame[]> {
  const args = ["-hide_banner", "-nostats", "-loglevel", "debug", "-i", path, "-c", "copy"];
  const result = await new Deno.Command("ffmpeg", {
    args: [...args, "-bsf:v", "trace_headers", "-f", "null", "-"],
    stdout: "null",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`ffmpeg trace_headers failed: ${log}`);
  const frames: TracedFrame[] = [];
  let frame: TracedFrame | undefined;
  for (const line of log.split("\n")) {
    const text = /\[trace_headers @ [^\]]+\] (.*)$/.exec(line)?.[1]?.trim();
    if (text === undefined) continue;
    if (text === "Frame") {
      frame = { showExistingFrame: false };
      frames.push(frame);
      continue;
    }
    const summary = /^Frame:\s+size (\d+x\d+)\s+subsample \S+\s+bit_depth (\d+)/.exec(text);
    const field = /^\d+\s+(\S+)\s+\S+ = (-?\d+)$/.exec(text);
    if (frame === undefined) continue;
    if (summary !== null) {
      frame.size = summary[1]!;
      frame.bitDepth = Number(summary[2]);
    } else if (field !== null) {
      const value = Number(field[2]);
      if (field[1] === "show_existing_frame") frame.showExistingFrame = value === 1;
      if (field[1] === "frame_type") frame.keyframe = value === 0;
      if (field[1] === "show_frame") frame.showFrame = value === 1;
      if (field[1] === "refresh_frame_flags") frame.refreshFrameFlags = value;
    }
  }
  return frames;
}
