/**
 * Test-only helpers for the AV1 tests: encode testsrc2 with ffmpeg (libaom-av1, libsvtav1) into IVF, split IVF into
 * temporal units, mux it into MP4 with `-c copy` and read the av1C box back, and ask ffprobe about it. Production
 * code never imports it. Every helper returns undefined when ffmpeg is missing so callers can skip visibly.
 */

/** One encoder configuration; `args` go between the lavfi input and `-f ivf`. */
export interface Av1Variant {
  name: string;
  args: string[];
}

/** Streams that together exercise profiles 0 and 1, 8 and 10 bits, 4:2:0, 4:4:4, monochrome, hidden frames. */
export const VARIANTS: readonly Av1Variant[] = [
  { name: "libaom 8-bit 4:2:0", args: ["-t", "2", "-c:v", "libaom-av1", "-cpu-used", "8", "-g", "30"] },
  {
    name: "libaom 10-bit 4:2:0",
    args: ["-t", "2", "-pix_fmt", "yuv420p10le", "-c:v", "libaom-av1", "-cpu-used", "8", "-g", "30"],
  },
  // SVT-AV1's mini-GOPs put hidden frames and show_existing_frame headers into the temporal units.
  { name: "libsvtav1 8-bit 4:2:0", args: ["-t", "2", "-c:v", "libsvtav1", "-g", "30"] },
  {
    name: "libaom 4:4:4 BT.709 full range",
    args: [
      ["-t", "0.5", "-pix_fmt", "yuv444p", "-color_primaries", "bt709", "-color_trc", "bt709"],
      ["-colorspace", "bt709", "-color_range", "pc", "-c:v", "libaom-av1", "-cpu-used", "8", "-g", "30"],
    ].flat(),
  },
  { name: "libaom monochrome", args: ["-t", "0.5", "-pix_fmt", "gray", "-c:v", "libaom-av1", "-cpu-used", "8"] },
];

/** Whether ffmpeg and ffprobe run; logs a visible skip message when not. */
export async function haveFfmpeg(testName: string): Promise<boolean> {
  try {
    const ffmpeg = await new Deno.Command("ffmpeg", { args: ["-version"], stdout: "null", stderr: "null" }).output();
    const ffprobe = await new Deno.Command("ffprobe", { args: ["-version"], stdout: "null", stderr: "null" }).output();
    if (ffmpeg.success && ffprobe.success) return true;
  } catch {
    // not installed
  }
  console.log(`SKIPPED "${testName}": ffmpeg/ffprobe not found`);
  return false;
}

async function run(command: string, args: string[]): Promise<Uint8Array> {
  const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  if (!result.success) {
    throw new Error(`${command} ${args.join(" ")} failed: ${new TextDecoder().decode(result.stderr)}`);
  }
  return result.stdout;
}

/** Encodes 192x108 testsrc2 at 30 fps with `variant` into `dir`; returns the IVF path. */
export async function encodeIvf(dir: string, variant: Av1Variant, index: number): Promise<string> {
  const path = `${dir}/${index}.ivf`;
  const input = ["-f", "lavfi", "-i", "testsrc2=size=192x108:rate=30"];
  await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...input, ...variant.args, "-f", "ivf", path]);
  return path;
}

/** The frames of an IVF file: one temporal unit each for AV1 (32-byte file header, 12-byte frame headers). */
export function ivfFrames(ivf: Uint8Array): Uint8Array[] {
  const view = new DataView(ivf.buffer, ivf.byteOffset, ivf.byteLength);
  if (new TextDecoder().decode(ivf.subarray(0, 4)) !== "DKIF") throw new Error("not an IVF file");
  const frames: Uint8Array[] = [];
  let offset = view.getUint16(6, true);
  while (offset + 12 <= ivf.length) {
    const size = view.getUint32(offset, true);
    offset += 12;
    if (offset + size > ivf.length) throw new Error("IVF frame runs past the end");
    frames.push(ivf.subarray(offset, offset + size));
    offset += size;
  }
  return frames;
}

/** Muxes `ivfPath` into MP4 with ffmpeg's own av1C writer and returns that box's body. */
export async function ffmpegAv1C(ivfPath: string): Promise<Uint8Array> {
  const mp4Path = ivfPath.replace(/\.ivf$/, ".mp4");
  await run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-i", ivfPath, "-c", "copy", "-f", "mp4", mp4Path]);
  const body = findBox(await Deno.readFile(mp4Path), ["moov", "trak", "mdia", "minf", "stbl", "stsd", "av01", "av1C"]);
  if (body === undefined) throw new Error("no av1C box in ffmpeg's MP4");
  return body;
}

/** Bytes before the children of a container box's body (ISO/IEC 14496-12 §8.5.2: stsd, VisualSampleEntry). */
const CHILDREN_OFFSET: Record<string, number> = { stsd: 8, av01: 78 };

/** Body of the box at `path`, walking 32-bit-sized boxes only (enough for ffmpeg's small files). */
function findBox(bytes: Uint8Array, path: string[]): Uint8Array | undefined {
  const [type, ...rest] = path;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  while (offset + 8 <= bytes.length) {
    const size = view.getUint32(offset);
    const boxType = new TextDecoder().decode(bytes.subarray(offset + 4, offset + 8));
    if (size < 8 || offset + size > bytes.length) return undefined;
    if (boxType === type) {
      const body = bytes.subarray(offset + 8, offset + size);
      return rest.length === 0 ? body : findBox(body.subarray(CHILDREN_OFFSET[type!] ?? 0), rest);
    }
    offset += size;
  }
  return undefined;
}

/** What ffprobe reports about the stream, and the key_frame flag of every decoded frame in order. */
export async function ffprobe(
  path: string,
): Promise<{ widthPx: number; heightPx: number; profile: string; pixFmt: string; keyframes: boolean[] }> {
  const streamJson = await run("ffprobe", ["-v", "error", "-show_streams", "-of", "json", path]);
  const stream = JSON.parse(new TextDecoder().decode(streamJson)).streams[0];
  const framesCsv = await run("ffprobe", ["-v", "error", "-show_entries", "frame=key_frame", "-of", "csv=p=0", path]);
  const keyframes = new TextDecoder().decode(framesCsv).trim().split("\n").map((line) => line.trim() === "1");
  return { widthPx: stream.width, heightPx: stream.height, profile: stream.profile, pixFmt: stream.pix_fmt, keyframes };
}

/** Writes fields MSB first, as the AV1 spec's f(n) reads them (§4.10.2), then trailing bits (§5.3.4). */
export class BitWriter {
  #bits: number[] = [];

  /** Appends `value` as an n-bit unsigned field. */
  u(n: number, value: number): this {
    for (let i = n - 1; i >= 0; i--) this.#bits.push(Math.floor(value / 2 ** i) % 2);
    return this;
  }

  /** The fields so far, then trailing_one_bit and zero bits up to a byte boundary. */
  bytes(): Uint8Array {
    const bits = [...this.#bits, 1];
    while (bits.length % 8 !== 0) bits.push(0);
    return Uint8Array.from({ length: bits.length / 8 }, (_, i) => parseInt(bits.slice(i * 8, i * 8 + 8).join(""), 2));
  }
}
