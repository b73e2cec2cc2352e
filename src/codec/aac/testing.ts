/**
 * Test-only helpers of the AAC and MP3 tests: a tiny MP4 box walker that finds (and swaps) the `esds` of a file
 * ffmpeg wrote, and command runners. Production code never imports it.
 */

import assert from "node:assert/strict";

/** Whether `command -version` runs (ffmpeg, ffprobe and GStreamer are optional in test environments). */
export function hasCommand(command: string, args = ["-version"]): boolean {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

/** Runs a command to completion; fails the test with its stderr when it fails. */
export async function exec(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(output.success, `${command} ${args.join(" ")} failed:\n${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

/** The streams and packets ffprobe reports for `path`. */
export async function ffprobe(path: string): Promise<{
  streams: { codec_name: string; profile?: string; sample_rate?: string; channels?: number; bit_rate?: string }[];
  packets: { size: string; duration?: string }[];
}> {
  return JSON.parse(await exec("ffprobe", ["-v", "error", "-show_streams", "-show_packets", "-of", "json", path]));
}

/** A box located in a file: where it starts and where its body (after the 8-byte header) lies. */
interface Located {
  start: number;
  bodyStart: number;
  end: number;
}

/** Bytes to skip at the start of a box's body before its child boxes (ISO/IEC 14496-12 §8.5.2, §12.2.3). */
const CHILD_OFFSET: Record<string, number> = { stsd: 8, mp4a: 28 };

/** The boxes along `path` (e.g. moov/trak/.../esds), outermost first; 32-bit sizes only, first match at each level. */
function locate(file: Uint8Array, path: readonly string[]): Located[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const chain: Located[] = [];
  let from = 0;
  let to = file.length;
  for (const type of path) {
    let found: Located | undefined;
    for (let at = from; at + 8 <= to;) {
      const size = view.getUint32(at);
      assert.ok(size >= 8 && at + size <= to, `bad box size ${size} at ${at}`);
      if (String.fromCharCode(...file.subarray(at + 4, at + 8)) === type) {
        found = { start: at, bodyStart: at + 8, end: at + size };
        break;
      }
      at += size;
    }
    assert.ok(found !== undefined, `no ${type} box in ${path.join("/")}`);
    chain.push(found);
    from = found.bodyStart + (CHILD_OFFSET[type] ?? 0);
    to = found.end;
  }
  return chain;
}

const ESDS_PATH = ["moov", "trak", "mdia", "minf", "stbl", "stsd", "mp4a", "esds"];

/** The `esds` body of the first track of an MP4 file. */
export function esdsOf(file: Uint8Array): Uint8Array {
  const esds = locate(file, ESDS_PATH).at(-1)!;
  return file.subarray(esds.bodyStart, esds.end);
}

/**
 * A copy of `file` with its `esds` body replaced by `body` and the sizes of the boxes around it fixed. The moov must
 * follow the mdat (ffmpeg's default), so that no chunk offset moves.
 */
export function withEsds(file: Uint8Array, body: Uint8Array): Uint8Array {
  const chain = locate(file, ESDS_PATH);
  const esds = chain.at(-1)!;
  const mdat = locate(file, ["mdat"])[0]!;
  assert.ok(mdat.start < chain[0]!.start, "moov must follow mdat");
  const delta = body.length - (esds.end - esds.bodyStart);
  const out = new Uint8Array(file.length + delta);
  out.set(file.subarray(0, esds.bodyStart));
  out.set(body, esds.bodyStart);
  out.set(file.subarray(esds.end), esds.bodyStart + body.length);
  const view = new DataView(out.buffer);
  for (const box of chain) view.setUint32(box.start, box.end - box.start + delta);
  return out;
}
