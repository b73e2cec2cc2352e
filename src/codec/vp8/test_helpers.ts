/**
 * Test-only helpers for the VP8 and VP9 folders (the VP9 tests import them from here): running ffmpeg/ffprobe,
 * reading IVF files, finding a box in an MP4 file (RTP packets: ../test_packets.ts). Production code never imports it.
 */

/** Both ffmpeg and ffprobe run here; tests that need them are ignored (with a console warning) otherwise. */
export const HAS_FFMPEG = hasCommand("ffmpeg") && hasCommand("ffprobe");

/** Logs once per test file why its ffmpeg tests are ignored. */
export function warnIfNoFfmpeg(file: string): void {
  if (!HAS_FFMPEG) console.warn(`${file}: ffmpeg/ffprobe not found, the real-encoder tests are skipped`);
}

function hasCommand(name: string): boolean {
  try {
    return new Deno.Command(name, { args: ["-version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** Runs a command to completion and returns its stdout; throws with its stderr when it fails. */
export async function exec(command: string, args: string[]): Promise<string> {
  const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!result.success) {
    throw new Error(`${command} ${args.join(" ")} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  return new TextDecoder().decode(result.stdout);
}

/** Encodes `seconds` of testsrc2 with the given encoder arguments into `path` (its extension picks the muxer). */
export async function encodeTestSource(
  path: string,
  encoderArgs: string[],
  { size = "320x240", seconds = 2 }: { size?: string; seconds?: number } = {},
): Promise<void> {
  await exec("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc2=size=${size}:rate=30`,
    "-t",
    String(seconds),
    ...encoderArgs,
    path,
  ]);
}

/** Remuxes `input` into an MP4 file at `output` with ffmpeg's mp4 muxer (`-c copy`). */
export async function remuxToMp4(input: string, output: string): Promise<void> {
  await exec("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", input, "-c", "copy", "-f", "mp4", output]);
}

/** What ffprobe says about the first video stream of a file. */
export async function probeVideo(path: string): Promise<Record<string, string | number>> {
  const json = await exec("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_streams", "-of", "json", path]);
  return JSON.parse(json).streams[0];
}

/** The contents of an IVF file: its fourcc and frames (the 12-byte frame headers removed). */
export interface Ivf {
  fourcc: string;
  widthPx: number;
  heightPx: number;
  frames: Uint8Array[];
}

/** Reads an IVF file (32-byte header, then 12-byte frame headers with a little-endian size). */
export function readIvf(bytes: Uint8Array): Ivf {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (text(0) !== "DKIF") throw new Error("not an IVF file");
  const frames: Uint8Array[] = [];
  let offset = view.getUint16(6, true);
  while (offset + 12 <= bytes.length) {
    const size = view.getUint32(offset, true);
    frames.push(bytes.subarray(offset + 12, offset + 12 + size));
    offset += 12 + size;
  }
  return { fourcc: text(8), widthPx: view.getUint16(12, true), heightPx: view.getUint16(14, true), frames };
}

/**
 * The body (after the 8-byte header) of the box at `path` in an MP4 file, e.g. `["moov", "trak", "mdia", "minf",
 * "stbl", "stsd", "vp09", "vpcC"]`. Inside `stsd` the FullBox header and entry count are skipped, and inside a
 * visual sample entry its 78 bytes of fields (ISO/IEC 14496-12 §8.5.2, §12.1.3).
 */
export function findBox(file: Uint8Array, path: readonly string[]): Uint8Array | undefined {
  let scope = file;
  let parent = "";
  for (const type of path) {
    if (parent === "stsd") scope = scope.subarray(8);
    else if (parent.startsWith("vp0")) scope = scope.subarray(78);
    const found = boxes(scope).find((box) => box.type === type);
    if (found === undefined) return undefined;
    scope = found.body;
    parent = type;
  }
  return scope;
}

function boxes(bytes: Uint8Array): { type: string; body: Uint8Array }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { type: string; body: Uint8Array }[] = [];
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    const size = view.getUint32(offset);
    if (size < 8 || offset + size > bytes.length) break;
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    out.push({ type, body: bytes.subarray(offset + 8, offset + size) });
    offset += size;
  }
  return out;
}
