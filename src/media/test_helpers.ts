/**
 * Fixtures and readers shared by the src/media tests: codec configuration records and the tracks that carry them,
 * the golden-table runner for box writers, mp4box.js wrappers, a Segmenter run over interleaved frames, and real
 * x264/libopus clips made by ffmpeg and read back into samples. Test-only; never imported by mod.ts.
 */

import assert from "node:assert/strict";
import * as MP4Box from "mp4box";
import {
  avcDecoderConfigurationRecord,
  dOpsPayload,
  NalType,
  nalType,
  opusPacketDurationSamples,
  splitAnnexB,
} from "../codec/mod.ts";
import { bin, concat, toHex } from "../shared/testing.ts";
import { type ByteWriter, encode } from "./byte_writer.ts";
import type { AudioFrame, SegmenterOptions, SegmenterStats, VideoFrame } from "./segment_cutter.ts";
import { Segmenter, type SegmenterOutput } from "./segmenter.ts";
import type { SampleWithTime, TrackCodec, TrackInfo } from "./track.ts";

/** avcC record (4-byte NAL lengths) of the SPS and PPS of a 1280x720 Constrained Baseline level 3.1 stream. */
export const AVCC_720P = avcDecoderConfigurationRecord(
  [bin("67 42 c0 1f da 01 40 16 e8 06 d0 a1 35")],
  [bin("68 ce 06 e2")],
);

/** dOps payload: version 0, stereo, pre-skip 312, 48 kHz input, gain 0, mapping family 0 (big-endian). */
export const DOPS_STEREO = bin("00 02 0138 0000bb80 0000 00");

/** An H.264 track's codec: `avc1` with `avcC`. */
export function avcTrackCodec(avcC: Uint8Array, widthPx: number, heightPx: number): TrackCodec {
  return { kind: "video", sampleEntry: { fourcc: "avc1", config: { fourcc: "avcC", body: avcC } }, widthPx, heightPx };
}

/** An Opus track's codec: `Opus` with `dOps`, at 48 kHz. */
export function opusTrackCodec(dOps: Uint8Array, channels: number): TrackCodec {
  return {
    kind: "audio",
    sampleEntry: { fourcc: "Opus", config: { fourcc: "dOps", body: dOps } },
    channels,
    sampleRate: 48000,
  };
}

/** Track 1: 1280x720 H.264 (AVCC_720P) at 90 kHz. */
export const VIDEO: TrackInfo = {
  trackId: 1,
  timescale: 90000,
  codec: avcTrackCodec(AVCC_720P, 1280, 720),
};

/** Track 2: stereo Opus (DOPS_STEREO) at 48 kHz. */
export const AUDIO: TrackInfo = {
  trackId: 2,
  timescale: 48000,
  codec: opusTrackCodec(DOPS_STEREO, 2),
};

/** One golden case: `input` encodes to exactly `bytes`; mp4box.js reads `fields` back from them (sample entries are
 * only parsed inside stsd, so fmp4_test.ts reads those back from a whole init segment). */
export interface Golden<T> {
  name: string;
  input: T;
  bytes: Uint8Array;
  fields?: Record<string, unknown>;
}

/** Registers the tests of one box writer's golden table: each case encodes to its bytes, whose size field is their
 * length unless `wholeBox` is false (a header written ahead of its payload), and reads back with mp4box.js. */
export function golden<T>(
  box: string,
  write: (w: ByteWriter, input: T) => void,
  cases: Golden<T>[],
  { wholeBox = true }: { wholeBox?: boolean } = {},
): void {
  for (const c of cases) {
    Deno.test(`${box} encodes ${c.name}`, () => {
      const bytes = encode((w) => write(w, c.input));
      assert.equal(toHex(bytes), toHex(c.bytes));
      if (wholeBox) {
        const view = new DataView(bytes.buffer);
        assert.equal(view.getUint32(0), bytes.byteLength, "size field equals byte length");
      }
    });
    if (c.fields !== undefined) {
      const fields = c.fields;
      Deno.test(`${box} ${c.name} reads back with mp4box.js`, () => {
        const parsed = parseBox(c.bytes);
        assert.equal(parsed["type"], box);
        assert.equal(parsed["size"], c.bytes.byteLength);
        for (const [key, value] of Object.entries(fields)) assert.deepEqual(parsed[key], value, key);
      });
    }
  }
}

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

/** Segmenter options of the end-to-end tests: tracks 1 (90 kHz) and 2 (48 kHz), 1 s segments of 250 ms fragments. */
export const SEGMENTS_1S_FRAGMENTS_250MS: SegmenterOptions = {
  segmentDurationMs: 1000,
  fragmentDurationMs: 250,
  firstNumber: 1,
  video: { trackId: 1, timescale: 90000 },
  audio: { trackId: 2, timescale: 48000 },
};

/** Runs a Segmenter over `video` and `audio` interleaved as a publisher sends them (each video frame, then the audio
 * up to its time; the rest of the audio after the last one) and flushes it: every output, and its final stats. */
export function segmentFrames(
  opts: SegmenterOptions,
  video: readonly VideoFrame[],
  audio: readonly AudioFrame[],
): { outputs: SegmenterOutput[]; stats: SegmenterStats } {
  const videoTimescale = opts.video?.timescale ?? 1;
  const audioTimescale = opts.audio?.timescale ?? 1;
  const segmenter = new Segmenter(opts);
  const outputs: SegmenterOutput[] = [];
  let next = 0;
  const pushAudioUntil = (frame: VideoFrame | null) => {
    for (; next < audio.length; next++) {
      const packet = audio[next];
      assert.ok(packet !== undefined, "audio frame");
      if (frame !== null && packet.ptsTicks * videoTimescale > frame.dtsTicks * audioTimescale) break;
      outputs.push(...segmenter.pushAudio(packet));
    }
  };
  for (const frame of video) {
    outputs.push(...segmenter.pushVideo(frame));
    pushAudioUntil(frame);
  }
  pushAudioUntil(null);
  outputs.push(...segmenter.flush());
  return { outputs, stats: { ...segmenter.stats } };
}

/** Opus packets as back-to-back audio frames from `startTicks`, each as long as its TOC says (RFC 6716 §3.1). */
export function opusFrames(packets: readonly Uint8Array[], startTicks = 0): AudioFrame[] {
  let ptsTicks = startTicks;
  return packets.map((data) => {
    const frame = { ptsTicks, durationTicks: opusPacketDurationSamples(data), data };
    ptsTicks += frame.durationTicks;
    return frame;
  });
}

/** The segment files of one track: its fragments concatenated per segment number, in order. */
export function segmentFiles(outputs: readonly SegmenterOutput[], track: "video" | "audio"): Uint8Array[] {
  const bySegment = new Map<number, Uint8Array[]>();
  for (const o of outputs) {
    if (o.type === "fragment" && o.track === track) {
      bySegment.set(o.segmentNumber, [...bySegment.get(o.segmentNumber) ?? [], o.bytes]);
    }
  }
  return [...bySegment.values()].map(concat);
}

/** Samples as plain values (data copied out of the segment) for deepEqual. */
export function plain(samples: readonly SampleWithTime[]): SampleWithTime[] {
  return samples.map((s) => ({ ...s, data: s.data.slice() }));
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
    const type = nalType(nal);
    if (type === NalType.Sps) sps ??= nal;
    else if (type === NalType.Pps) pps ??= nal;
    else if (type === NalType.Aud) finish();
    else if (type === NalType.Slice || type === NalType.Idr) {
      // first_mb_in_slice == 0 (leading bit 1 of ue(v)) starts a new picture
      if (hasSlice && ((nal[1] ?? 0) & 0x80) !== 0) finish();
      current.push(nal);
      hasSlice = true;
      if (type === NalType.Idr) isKeyframe = true;
    } else if (type === NalType.Sei) {
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

/** dOps payload from an OpusHead packet (RFC 7845 §5.1, little-endian); channel mapping family 0 only. */
export function dOpsFromOpusHead(head: Uint8Array): Uint8Array {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (String.fromCharCode(...head.subarray(0, 8)) !== "OpusHead") throw new Error("not an OpusHead packet");
  if (view.getUint8(18) !== 0) throw new Error("only channel mapping family 0 is supported");
  return dOpsPayload({
    channels: view.getUint8(9),
    preSkip: view.getUint16(10, true),
    inputSampleRate: view.getUint32(12, true),
    outputGain: view.getInt16(16, true),
  });
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

/** Runs a command to completion; throws with its stderr when it fails. */
export async function exec(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const result = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const stdout = new TextDecoder().decode(result.stdout);
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) throw new Error(`${command} ${args.join(" ")} failed: ${stderr}`);
  return { stdout, stderr };
}

/**
 * The size and sample aspect ratio of every video frame ffprobe decodes from `path`, as runs of equal frames:
 * `[["320x240 1:1", 60], ["640x360 1:1", 60]]`.
 */
export async function videoFrameRuns(path: string): Promise<[string, number][]> {
  const args = ["-v", "error", "-select_streams", "v", "-show_entries", "frame=width,height,sample_aspect_ratio"];
  const { stdout } = await exec("ffprobe", [...args, "-of", "json", path]);
  const frames = (JSON.parse(stdout) as { frames?: { width: number; height: number; sample_aspect_ratio?: string }[] })
    .frames ?? [];
  const runs: [string, number][] = [];
  for (const frame of frames) {
    const shape = `${frame.width}x${frame.height} ${frame.sample_aspect_ratio ?? "?"}`;
    const last = runs[runs.length - 1];
    if (last?.[0] === shape) last[1]++;
    else runs.push([shape, 1]);
  }
  return runs;
}

/** Samples of a clip's access units placed from `startTicks` at 30 fps (90 kHz), naming sample entry `entry`. */
export function clipSamples(units: readonly AccessUnit[], startTicks: number, entry: number): SampleWithTime[] {
  return units.map((unit, i) => ({
    decodeTimeTicks: startTicks + i * 3000,
    durationTicks: 3000,
    ctsOffsetTicks: 0,
    isSync: unit.isKeyframe,
    data: unit.avcc,
    sampleEntryIndex: entry,
  }));
}

/** A real clip made by ffmpeg and read back: x264 Constrained Baseline (320x240 unless asked otherwise) at 30 fps
 * with a keyframe each second, and 48 kHz stereo libopus at 64 kb/s; the encoder output is written into `dir`. */
export interface RealClip {
  /** Track 1: the video (320x240 by default) at 90 kHz, with `avcC`. */
  video: TrackInfo;
  /** Track 2: the stereo Opus at 48 kHz, with `dOps`. */
  audio: TrackInfo;
  sps: Uint8Array;
  pps: Uint8Array;
  /** avcC record of `sps` and `pps`. */
  avcC: Uint8Array;
  /** dOps payload of the OpusHead. */
  dOps: Uint8Array;
  /** Video access units in AVCC form, in decode order. */
  units: AccessUnit[];
  /** Opus packets, without the OpusHead and OpusTags. */
  packets: Uint8Array[];
}

/** Encodes `videoSeconds` of testsrc2 (`widthPx` x `heightPx`, default 320x240) with libx264 and `audioSeconds` of a
 * 440 Hz sine with libopus (see RealClip). */
export async function realClip(
  dir: string,
  { videoSeconds, audioSeconds, widthPx = 320, heightPx = 240 }: {
    videoSeconds: number;
    audioSeconds: number;
    widthPx?: number;
    heightPx?: number;
  },
): Promise<RealClip> {
  const size = `${widthPx}x${heightPx}`;
  const h264Path = `${dir}/clip_${size}.h264`;
  const opusPath = `${dir}/clip_${size}.opus`;
  await exec("ffmpeg", [
    ...["-v", "error", "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=30`, "-t", String(videoSeconds)],
    ...["-c:v", "libx264", "-profile:v", "baseline", "-g", "30", "-sc_threshold", "0"],
    ...["-bsf:v", "h264_mp4toannexb", "-f", "h264", h264Path],
  ]);
  await exec("ffmpeg", [
    ...["-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(audioSeconds)],
    ...["-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-f", "opus", opusPath],
  ]);
  const { sps, pps, units } = accessUnits(splitAnnexB(await Deno.readFile(h264Path)));
  const [head, _tags, ...packets] = oggPackets(await Deno.readFile(opusPath));
  if (head === undefined) throw new Error("libopus wrote no OpusHead");
  const avcC = avcDecoderConfigurationRecord([sps], [pps]);
  const dOps = dOpsFromOpusHead(head);
  return {
    video: { trackId: 1, timescale: 90000, codec: avcTrackCodec(avcC, widthPx, heightPx) },
    audio: { trackId: 2, timescale: 48000, codec: opusTrackCodec(dOps, 2) },
    sps,
    pps,
    avcC,
    dOps,
    units,
    packets,
  };
}

/** What ffmpeg complains about while decoding everything in `path`. */
export async function decodeErrors(path: string): Promise<string> {
  const output = await new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
    stdout: "null",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(output.stderr).trim();
}

/** Frames ffprobe decodes per stream type. */
export async function frameCounts(path: string): Promise<Record<string, number>> {
  const { stdout } = await exec("ffprobe", [
    ...["-v", "error", "-count_frames", "-show_entries", "stream=codec_type,nb_read_frames", "-of", "json", path],
  ]);
  const streams = (JSON.parse(stdout) as { streams: { codec_type: string; nb_read_frames: string }[] }).streams;
  return Object.fromEntries(streams.map((s) => [s.codec_type, Number(s.nb_read_frames)]));
}

/** Packets of one stream type in file order (decode order), with pts and dts in seconds. */
export async function packets(path: string, type: "v" | "a"): Promise<{ pts: number; dts: number }[]> {
  const { stdout } = await exec("ffprobe", [
    ...["-v", "error", "-select_streams", type, "-show_entries", "packet=pts_time,dts_time", "-of", "json", path],
  ]);
  const list = (JSON.parse(stdout) as { packets: { pts_time: string; dts_time: string }[] }).packets;
  return list.map((p) => ({ pts: Number(p.pts_time), dts: Number(p.dts_time) }));
}

/** MD5 of each decoded picture, in presentation order. */
export async function pictureHashes(path: string): Promise<string[]> {
  const { stdout } = await exec("ffmpeg", ["-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"]);
  return stdout.split("\n").filter((line) => /^\d/.test(line)).map((line) => line.split(",").at(-1)!.trim());
}
