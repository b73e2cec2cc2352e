/**
 * Fixtures and readers shared by the src/media tests: hand-built codec configuration records, a byte literal
 * notation for golden tables, an mp4box.js wrapper and an Annex B splitter. Test-only; never imported by mod.ts.
 */

import * as MP4Box from "mp4box";

// node:assert cannot be type-checked here (no @types/node in node_modules, JSR unreachable), hence these two.

/** Fails the test with `message` when `condition` is false. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Structural equality of plain values (numbers, strings, arrays, plain objects, typed arrays). */
export function assertEquals(actual: unknown, expected: unknown, message = "values differ"): void {
  if (!deepEqual(actual, expected)) {
    const show = (v: unknown) => Deno.inspect(v, { depth: 6, colors: false, iterableLimit: 200 });
    throw new Error(`${message}\n  actual:   ${show(actual)}\n  expected: ${show(expected)}`);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.byteLength !== b.byteLength) return false;
    return a.every((byte, i) => byte === b[i]);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  const recordA = a as Record<string, unknown>;
  const recordB = b as Record<string, unknown>;
  return keysA.every((key) => Object.hasOwn(recordB, key) && deepEqual(recordA[key], recordB[key]));
}

/** Bytes from a literal: hex digits (whitespace ignored) with 'quoted' ASCII runs, e.g. `00000010 'mfhd' 00`. */
export function bin(literal: string): Uint8Array {
  const out: number[] = [];
  const parts = literal.split("'");
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      for (let j = 0; j < part.length; j++) out.push(part.charCodeAt(j));
      return;
    }
    const digits = part.replace(/\s+/g, "");
    if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) throw new Error(`bad hex in literal: "${part}"`);
    for (let j = 0; j < digits.length; j += 2) out.push(parseInt(digits.slice(j, j + 2), 16));
  });
  return new Uint8Array(out);
}

/** Lower-case hex of `bytes`, for readable assertion failures. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One buffer holding `parts` back to back. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** SPS of a 1280x720 Constrained Baseline level 3.1 stream. */
export const SPS_720P = bin("67 42 c0 1f da 01 40 16 e8 06 d0 a1 35");
/** PPS matching SPS_720P. */
export const PPS_720P = bin("68 ce 06 e2");

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1) with one SPS and one PPS, 4-byte NAL lengths. */
export function avcCFrom(sps: Uint8Array, pps: Uint8Array): Uint8Array {
  return concat([
    new Uint8Array([1, sps[1] ?? 0, sps[2] ?? 0, sps[3] ?? 0, 0xff, 0xe1, sps.byteLength >> 8, sps.byteLength & 0xff]),
    sps,
    new Uint8Array([1, pps.byteLength >> 8, pps.byteLength & 0xff]),
    pps,
  ]);
}

/** dOps payload: version 0, stereo, pre-skip 312, 48 kHz input, gain 0, mapping family 0 (big-endian). */
export const DOPS_STEREO = bin("00 02 0138 0000bb80 0000 00");

/** What mp4box.js makes of a file: its movie info and every sample of every track, in decode order. */
export interface Parsed {
  info: MP4Box.Movie;
  samples: Map<number, MP4Box.Sample[]>;
  file: MP4Box.ISOFile;
}

/** Parses a complete file (init segment followed by media segments) with mp4box.js, extracting all samples. */
export function parseMp4(bytes: Uint8Array): Parsed {
  const file = MP4Box.createFile(true);
  const errors: string[] = [];
  let info: MP4Box.Movie | null = null;
  const samples = new Map<number, MP4Box.Sample[]>();
  file.onError = (module, message) => errors.push(`${module}: ${message}`);
  file.onReady = (movie) => {
    info = movie;
    for (const track of movie.tracks) {
      samples.set(track.id, []);
      file.setExtractionOptions(track.id, null, { nbSamples: 1_000_000 });
    }
    file.start();
  };
  file.onSamples = (id, _user, batch) => samples.get(id)?.push(...batch);
  const copy = bytes.slice().buffer;
  file.appendBuffer(MP4Box.MP4BoxBuffer.fromArrayBuffer(copy, 0), true);
  file.flush();
  if (errors.length > 0) throw new Error(`mp4box errors: ${errors.join("; ")}`);
  if (info === null) throw new Error("mp4box never became ready");
  return { info, samples, file };
}

/** Parses one top-level box with mp4box.js and returns it (as a loose record for field checks). */
export function parseBox(bytes: Uint8Array): Record<string, unknown> {
  const file = MP4Box.createFile(true);
  file.appendBuffer(MP4Box.MP4BoxBuffer.fromArrayBuffer(bytes.slice().buffer, 0), true);
  file.flush();
  const box = file.boxes[0];
  if (box === undefined) throw new Error("mp4box parsed no box");
  return box as unknown as Record<string, unknown>;
}

/** Splits an H.264 Annex B byte stream into NAL units (without start codes). */
export function splitAnnexB(stream: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 2 < stream.byteLength; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  const nals: Uint8Array[] = [];
  starts.forEach((start, k) => {
    let end = starts[k + 1] === undefined ? stream.byteLength : (starts[k + 1] ?? 0) - 3;
    while (end > start && stream[end - 1] === 0) end--; // trailing zero of a 4-byte start code
    nals.push(stream.subarray(start, end));
  });
  return nals;
}

/** One H.264 access unit in AVCC form, with whether it holds an IDR slice. */
export interface AccessUnit {
  avcc: Uint8Array;
  isKeyframe: boolean;
}

/** Groups NAL units into access units (a new one at each AUD or first slice after a slice) in AVCC form; SPS and
 * PPS are returned separately and left out of the samples. Enough for x264 output, not a general AU splitter. */
export function accessUnits(nals: readonly Uint8Array[]): { sps: Uint8Array; pps: Uint8Array; units: AccessUnit[] } {
  let sps: Uint8Array | null = null;
  let pps: Uint8Array | null = null;
  const units: AccessUnit[] = [];
  let current: Uint8Array[] = [];
  let isKeyframe = false;
  let hasSlice = false;
  const finish = () => {
    if (!hasSlice) return;
    units.push({ avcc: concat(current.flatMap((nal) => [lengthPrefix(nal.byteLength), nal])), isKeyframe });
    current = [];
    isKeyframe = false;
    hasSlice = false;
  };
  for (const nal of nals) {
    const type = (nal[0] ?? 0) & 0x1f;
    if (type === 7) sps ??= nal;
    else if (type === 8) pps ??= nal;
    else if (type === 9) finish();
    else if (type === 1 || type === 5) {
      // first_mb_in_slice == 0 (leading bit 1 of ue(v)) starts a new picture
      if (hasSlice && ((nal[1] ?? 0) & 0x80) !== 0) finish();
      current.push(nal);
      hasSlice = true;
      if (type === 5) isKeyframe = true;
    } else if (type === 6) {
      finish(); // SEI after a slice opens the next access unit
      current.push(nal);
    }
  }
  finish();
  if (sps === null || pps === null) throw new Error("stream has no SPS/PPS");
  return { sps, pps, units };
}

function lengthPrefix(length: number): Uint8Array {
  return new Uint8Array([length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff]);
}

/** Packets of the first logical stream of an Ogg file (RFC 3533), reassembled across pages. */
export function oggPackets(file: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let offset = 0;
  while (offset + 27 <= file.byteLength) {
    const capture = String.fromCharCode(...file.subarray(offset, offset + 4));
    if (capture !== "OggS") throw new Error(`no Ogg page at ${offset}`);
    const segments = file[offset + 26] ?? 0;
    const table = file.subarray(offset + 27, offset + 27 + segments);
    let body = offset + 27 + segments;
    for (const lacing of table) {
      pending.push(file.subarray(body, body + lacing));
      body += lacing;
      if (lacing < 255) {
        packets.push(concat(pending));
        pending = [];
      }
    }
    offset = body;
  }
  return packets;
}

/** dOps payload (big-endian) from an OpusHead packet (little-endian), RFC 7845 §5.1 to Opus-in-ISOBMFF §4.3.2. */
export function dOpsFromOpusHead(head: Uint8Array): Uint8Array {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (String.fromCharCode(...head.subarray(0, 8)) !== "OpusHead") throw new Error("not an OpusHead packet");
  const out = new Uint8Array(11);
  const dOps = new DataView(out.buffer);
  dOps.setUint8(0, 0); // Version
  dOps.setUint8(1, view.getUint8(9)); // OutputChannelCount
  dOps.setUint16(2, view.getUint16(10, true)); // PreSkip
  dOps.setUint32(4, view.getUint32(12, true)); // InputSampleRate
  dOps.setInt16(8, view.getInt16(16, true)); // OutputGain
  dOps.setUint8(10, view.getUint8(18)); // ChannelMappingFamily (0 only: no mapping table)
  return out;
}

/** Duration of an Opus packet in 48 kHz ticks from its TOC byte (RFC 6716 §3.1). */
export function opusPacketTicks(packet: Uint8Array): number {
  const toc = packet[0] ?? 0;
  const config = toc >> 3;
  const frameTicks = config < 12
    ? [480, 960, 1920, 2880][config % 4]
    : config < 16
    ? [480, 960][config % 2]
    : [120, 240, 480, 960][config % 4];
  const code = toc & 3;
  const frames = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  return (frameTicks ?? 0) * frames;
}

/** Whether a command can be run (ffmpeg/ffprobe are optional in test environments). */
export function hasCommand(name: string): boolean {
  try {
    const result = new Deno.Command(name, { args: ["-version"], stdout: "null", stderr: "null" }).outputSync();
    return result.success;
  } catch {
    return false;
  }
}
