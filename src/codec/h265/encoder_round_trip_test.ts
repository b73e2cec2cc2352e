/**
 * Real encoder output end to end: libx265 streams (via ffmpeg) split into access units, packetized, lost in part,
 * depacketized, then checked byte for byte, decoded again by ffmpeg, and their hvcC compared field by field with
 * the one ffmpeg's mp4 muxer writes; GStreamer's rtph265pay supplies independently packetized RTP. Tests skip with a
 * message when ffmpeg or GStreamer is missing.
 */

import assert from "node:assert/strict";
import type { Frame } from "../codec.ts";
import { H265Depacketizer } from "./depacketizer.ts";
import { isIrap, isParameterSet, isVcl, NalType, nalType, startsPicture } from "./nal.ts";
import { splitAnnexB, splitLengthPrefixed, toLengthPrefixed } from "../nal_units.ts";
import { packetizeH265Frame } from "./packetizer.ts";
import { h265 } from "./row.ts";
import { parseRtpPacket, type ReorderOutput, type RtpPacket } from "../../rtp/mod.ts";
import { concat, toHex } from "../../shared/testing.ts";

async function run(command: string, args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return { ok: output.success, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

async function available(command: string, args: string[]): Promise<boolean> {
  try {
    return (await run(command, args)).ok;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

async function mustRun(command: string, args: string[]): Promise<string> {
  const result = await run(command, args);
  assert.ok(result.ok, `${command} ${args.join(" ")} failed:\n${result.stderr}`);
  return result.stdout;
}

const hasFfmpeg = await available("ffmpeg", ["-version"]) && await available("ffprobe", ["-version"]);
if (!hasFfmpeg) console.warn("SKIPPING h265 encoder round-trip tests: ffmpeg/ffprobe not found on PATH");
const hasGstreamer = await available("gst-inspect-1.0", ["x265enc", "h265parse", "rtph265pay", "rtpstreampay"]);
if (!hasGstreamer) {
  console.warn("SKIPPING h265 GStreamer test: gst-inspect-1.0 finds no x265enc, h265parse, rtph265pay or rtpstreampay");
}

/** Groups NAL units into access units at the first-NAL-of-an-access-unit types (ITU-T H.265 §7.4.2.4.4). */
function accessUnits(nalUnits: Uint8Array[]): Uint8Array[][] {
  const units: Uint8Array[][] = [];
  let current: Uint8Array[] = [];
  let seenVcl = false;
  for (const nal of nalUnits) {
    const type = nalType(nal);
    const opensAccessUnit = (isVcl(nal) && startsPicture(nal)) || (type >= 32 && type <= 35) ||
      type === NalType.PrefixSei || (type >= 41 && type <= 44);
    if (seenVcl && opensAccessUnit) {
      units.push(current);
      current = [];
      seenVcl = false;
    }
    current.push(nal);
    seenVcl ||= isVcl(nal);
  }
  if (current.length > 0) units.push(current);
  return units;
}

function annexB(frames: Frame[]): Uint8Array {
  const startCode = new Uint8Array([0, 0, 0, 1]);
  return concat(frames.flatMap((frame) => splitLengthPrefixed(frame.data).flatMap((nal) => [startCode, nal])));
}

/** MD5 per decoded picture, in output order, from ffmpeg's framemd5 muxer. */
async function decodedPictureHashes(path: string): Promise<string[]> {
  const result = await run("ffmpeg", ["-v", "error", "-i", path, "-f", "framemd5", "-"]);
  assert.ok(result.ok && result.stderr.trim() === "", `ffmpeg decoding ${path} reported:\n${result.stderr}`);
  return result.stdout.split("\n").filter((line) => /^\d/.test(line)).map((line) => line.split(",").at(-1)!.trim());
}

/** The body of moov/trak/mdia/minf/stbl/stsd/hvc1/hvcC in an MP4 file (ISO/IEC 14496-12 §4.2, §8.5.2). */
function hvcCFromMp4(file: Uint8Array): Uint8Array {
  // Bytes between a box's header and its first child: stsd has version/flags and entry_count, a visual sample
  // entry has 78 bytes of fields (ISO/IEC 14496-12 §12.1.3).
  const childOffset: Record<string, number> = { stsd: 8, hvc1: 78 };
  let body = file;
  for (const fourcc of ["moov", "trak", "mdia", "minf", "stbl", "stsd", "hvc1", "hvcC"]) {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let offset = 0;
    let found: Uint8Array | undefined;
    while (offset + 8 <= body.length) {
      const size = view.getUint32(offset);
      const type = String.fromCharCode(...body.subarray(offset + 4, offset + 8));
      assert.ok(size >= 8 && offset + size <= body.length, `bad box ${type} of ${size} bytes`);
      if (type === fourcc) {
        found = body.subarray(offset + 8 + (childOffset[fourcc] ?? 0), offset + size);
        break;
      }
      offset += size;
    }
    assert.ok(found !== undefined, `no ${fourcc} box`);
    body = found;
  }
  return body;
}

/** HEVCDecoderConfigurationRecord fields (ISO/IEC 14496-15 §8.3.3.1.2), read independently of hvcc.ts. */
function readHvcC(record: Uint8Array) {
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const arrays = [];
  let offset = 23;
  for (let i = 0; i < record[22]!; i++) {
    const nalUnits = [];
    const count = view.getUint16(offset + 1);
    let position = offset + 3;
    for (let j = 0; j < count; j++) {
      const length = view.getUint16(position);
      nalUnits.push(toHex(record.subarray(position + 2, position + 2 + length)));
      position += 2 + length;
    }
    arrays.push({ arrayCompleteness: record[offset]! >> 7, nalUnitType: record[offset]! & 0x3f, nalUnits });
    offset = position;
  }
  return {
    configurationVersion: record[0],
    generalProfileSpace: record[1]! >> 6,
    generalTierFlag: (record[1]! >> 5) & 1,
    generalProfileIdc: record[1]! & 0x1f,
    generalProfileCompatibilityFlags: view.getUint32(2),
    generalConstraintIndicatorFlags: toHex(record.subarray(6, 12)),
    generalLevelIdc: record[12],
    minSpatialSegmentationIdc: view.getUint16(13) & 0xfff,
    parallelismType: record[15]! & 3,
    chromaFormat: record[16]! & 3,
    bitDepthLumaMinus8: record[17]! & 7,
    bitDepthChromaMinus8: record[18]! & 7,
    avgFrameRate: view.getUint16(19),
    constantFrameRate: record[21]! >> 6,
    numTemporalLayers: (record[21]! >> 3) & 7,
    temporalIdNested: (record[21]! >> 2) & 1,
    lengthSizeMinusOne: record[21]! & 3,
    arrays,
    trailingBytes: record.length - offset,
  };
}

/** Packets of every access unit, at 1200-byte payloads, with consecutive sequence numbers. */
function packetize(units: Uint8Array[][], ticksPerFrame: number): RtpPacket[][] {
  let sequenceNumber = 65000; // wraps within the stream
  return units.map((nalUnits, i) => {
    const frame = { timestamp: (0xfff00000 + i * ticksPerFrame) >>> 0, data: toLengthPrefixed(nalUnits) };
    const packets = packetizeH265Frame(frame, { sequenceNumber, maxPayloadBytes: 1200 });
    sequenceNumber = (sequenceNumber + packets.length) & 0xffff;
    return packets;
  });
}

function depacketize(inputs: ReorderOutput[]): { frames: Frame[]; depacketizer: H265Depacketizer } {
  const depacketizer = new H265Depacketizer();
  const frames = [...inputs.flatMap((input) => depacketizer.push(input)), ...depacketizer.flush()];
  return { frames, depacketizer };
}

function asInputs(packets: RtpPacket[]): ReorderOutput[] {
  return packets.map((packet, i) => ({ type: "packet", packet, extendedSequence: i }));
}

interface Variant {
  name: string;
  pixFmt: string;
  size: string;
  fps: number;
  x265Params: string;
  /** Remove VPS/SPS/PPS from every access unit but the first, as a sender that sends them once would. */
  parameterSetsOnce: boolean;
  expected: { widthPx: number; heightPx: number; codecs: string; ffprobeProfile: string; ffprobeLevel: number };
}

const variants: Variant[] = [
  {
    name: "Main 4:2:0 8-bit",
    pixFmt: "yuv420p",
    size: "320x240",
    fps: 30,
    x265Params: "keyint=30",
    parameterSetsOnce: false,
    expected: { widthPx: 320, heightPx: 240, codecs: "hvc1.1.6.L60.90", ffprobeProfile: "Main", ffprobeLevel: 60 },
  },
  {
    name: "Main 10, cropped size, parameter sets sent once",
    pixFmt: "yuv420p10le",
    size: "318x178",
    fps: 25,
    x265Params: "keyint=30",
    parameterSetsOnce: true,
    expected: { widthPx: 318, heightPx: 178, codecs: "hvc1.2.4.L60.90", ffprobeProfile: "Main 10", ffprobeLevel: 60 },
  },
  {
    name: "Main 4:2:2 10 with access unit delimiters and two temporal sub-layers",
    pixFmt: "yuv422p10le",
    size: "200x120",
    fps: 24,
    x265Params: "keyint=30:aud=1:temporal-layers=1",
    parameterSetsOnce: false,
    expected: { widthPx: 200, heightPx: 120, codecs: "hvc1.4.10.L60.9D.8", ffprobeProfile: "Rext", ffprobeLevel: 60 },
  },
];

for (const variant of variants) {
  Deno.test({
    name: `H265 round trip of libx265 ${variant.name}: frames, hvcC against ffmpeg's mp4, decoding after losses`,
    ignore: !hasFfmpeg,
    fn: async (t) => {
      const dir = await Deno.makeTempDir({ prefix: "liverec_h265_" });
      try {
        const hevcPath = `${dir}/stream.hevc`;
        const mp4Path = `${dir}/stream.mp4`;
        await mustRun("ffmpeg", [
          ...["-v", "error", "-f", "lavfi", "-i", `testsrc2=size=${variant.size}:rate=${variant.fps}`, "-t", "2"],
          ...["-pix_fmt", variant.pixFmt, "-c:v", "libx265", "-x265-params", `${variant.x265Params}:log-level=error`],
          ...["-f", "hevc", hevcPath],
        ]);
        await mustRun("ffmpeg", ["-v", "error", "-i", hevcPath, "-c", "copy", "-tag:v", "hvc1", "-f", "mp4", mp4Path]);
        const originalHashes = await decodedPictureHashes(hevcPath);

        let units = accessUnits(splitAnnexB(await Deno.readFile(hevcPath)));
        assert.equal(units.length, 2 * variant.fps);
        const firstUnit = units[0]!;
        if (variant.parameterSetsOnce) {
          units = units.map((nalUnits, i) => i === 0 ? nalUnits : nalUnits.filter((nal) => !isParameterSet(nal)));
        }
        const packets = packetize(units, 90_000 / variant.fps);

        await t.step(
          "every frame comes back byte-identical, parameter sets added to keyframes lacking them",
          async () => {
            const { frames, depacketizer } = depacketize(asInputs(packets.flat()));
            const remembered = firstUnit.filter(isParameterSet);
            const expected = units.map((nalUnits) => {
              const kept = nalUnits.filter((nal) => nalType(nal) !== NalType.Aud);
              const keyframe = kept.some(isIrap);
              if (keyframe && !kept.some(isParameterSet)) kept.splice(kept.findIndex(isVcl), 0, ...remembered);
              return { keyframe, nalUnits: kept.map(toHex) };
            });
            assert.deepEqual(
              frames.map((f) => ({ keyframe: f.keyframe, nalUnits: splitLengthPrefixed(f.data).map(toHex) })),
              expected,
            );
            assert.deepEqual(frames.map((f) => f.timestamp), packets.map((p) => p[0]!.timestamp));
            assert.ok(frames.filter((f) => f.keyframe).length >= 2, "the stream should hold an IDR and a CRA");
            assert.deepEqual(depacketizer.stats, {
              frames: units.length,
              droppedFrames: 0,
              malformedPackets: 0,
              lostPackets: 0,
              ignoredPackets: 0,
            });
            // Decoding the frames gives the very pictures of the encoder's stream.
            const path = `${dir}/round_trip.hevc`;
            await Deno.writeFile(path, annexB(frames));
            assert.deepEqual(await decodedPictureHashes(path), originalHashes);
          },
        );

        await t.step("hvcC, size and codecs string agree with ffmpeg and ffprobe", async () => {
          const { frames } = depacketize(asInputs(packets.flat()));
          const format = h265.format(frames[0]!, []);
          assert.ok(format !== undefined);
          const ffmpegHvcC = hvcCFromMp4(await Deno.readFile(mp4Path));
          // Field by field first for a readable failure, then the bytes: ffmpeg 5.1 writes the same canonical record
          // for these streams (min_spatial_segmentation_idc and parallelismType 0 as x265 writes no VUI
          // bitstream restrictions, avgFrameRate 0, complete VPS/SPS/PPS arrays for hvc1, no SEI array).
          assert.deepEqual(readHvcC(format.sampleEntry.config.body), readHvcC(ffmpegHvcC));
          assert.equal(toHex(format.sampleEntry.config.body), toHex(ffmpegHvcC));
          // Later keyframes (CRA) describe the same format.
          const later = frames.filter((f) => f.keyframe).at(-1)!;
          assert.deepEqual(h265.format(later, []), format);

          const probe = JSON.parse(
            await mustRun("ffprobe", [
              ...["-v", "error", "-select_streams", "v:0", "-of", "json"],
              ...["-show_entries", "stream=width,height,profile,level,r_frame_rate", mp4Path],
            ]),
          );
          const stream = probe.streams[0];
          assert.deepEqual([format.widthPx, format.heightPx], [stream.width, stream.height]);
          assert.deepEqual([stream.profile, stream.level], [
            variant.expected.ffprobeProfile,
            variant.expected.ffprobeLevel,
          ]);
          assert.equal(format.frameRate, variant.fps);
          assert.equal(stream.r_frame_rate, `${variant.fps}/1`);
          const { widthPx, heightPx, codecs } = format;
          assert.deepEqual({ widthPx, heightPx, codecs }, {
            widthPx: variant.expected.widthPx,
            heightPx: variant.expected.heightPx,
            codecs: variant.expected.codecs,
          });
        });

        await t.step("after losses only whole frames from the next keyframe on come out, and they decode", async () => {
          // Lose the last packet of frame 5 and the first of frame 40.
          const lost = new Set([packets[5]!.at(-1)!, packets[40]![0]!]);
          const inputs: ReorderOutput[] = [];
          packets.flat().forEach((packet, i) => {
            inputs.push(
              lost.has(packet) ? { type: "loss", count: 1 } : { type: "packet", packet, extendedSequence: i },
            );
          });
          const { frames, depacketizer } = depacketize(inputs);
          assert.equal(depacketizer.stats.lostPackets, 2);
          assert.ok(depacketizer.stats.droppedFrames >= 2);
          // A frame whose every packet was lost is never seen, so it is not counted as dropped.
          assert.ok(frames.length + depacketizer.stats.droppedFrames <= units.length);
          assert.ok(frames.length < units.length - 2);
          // The first frame emitted after each loss is a keyframe (RASL pictures after it are dropped too).
          const indexOf = new Map(packets.map((p, i) => [p[0]!.timestamp, i]));
          for (const lostPacket of lost) {
            const lostIndex = indexOf.get(lostPacket.timestamp)!;
            const next = frames.find((f) => indexOf.get(f.timestamp)! > lostIndex);
            if (next !== undefined) assert.ok(next.keyframe, `frame ${indexOf.get(next.timestamp)} after a loss`);
          }
          // ffmpeg decodes them without a complaint, and every picture is one the encoder made.
          const path = `${dir}/after_loss.hevc`;
          await Deno.writeFile(path, annexB(frames));
          const hashes = await decodedPictureHashes(path);
          assert.equal(hashes.length, frames.length);
          const original = new Set(originalHashes);
          assert.ok(hashes.every((hash) => original.has(hash)), "a decoded picture differs from the encoder's");
        });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "H265Depacketizer reassembles GStreamer rtph265pay packets into the elementary stream's access units",
  ignore: !hasGstreamer || !hasFfmpeg,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "liverec_h265_gst_" });
    try {
      const esPath = `${dir}/es.h265`;
      const rtpPath = `${dir}/rtp.bin`;
      await mustRun("gst-launch-1.0", [
        "-q",
        ...["videotestsrc", "num-buffers=60", "!", "video/x-raw,format=I420,width=320,height=240,framerate=30/1", "!"],
        ...["x265enc", "key-int-max=30", "!", "h265parse", "!", "video/x-h265,stream-format=byte-stream,alignment=au"],
        ...["!", "tee", "name=t", "!", "queue", "!", "filesink", `location=${esPath}`, "t.", "!", "queue", "!"],
        ...["rtph265pay", "mtu=1200", "aggregate-mode=zero-latency", "config-interval=-1", "!", "rtpstreampay", "!"],
        ...["filesink", `location=${rtpPath}`],
      ]);
      // rtpstreampay frames each RTP packet with a 16-bit length (RFC 4571).
      const stream = await Deno.readFile(rtpPath);
      const packets: RtpPacket[] = [];
      for (let offset = 0; offset + 2 <= stream.length;) {
        const length = (stream[offset]! << 8) | stream[offset + 1]!;
        packets.push(parseRtpPacket(stream.subarray(offset + 2, offset + 2 + length)));
        offset += 2 + length;
      }
      const types = new Set(packets.map((p) => nalType(p.payload)));
      assert.ok(types.has(NalType.Ap) && types.has(NalType.Fu), `expected APs and FUs, got types ${[...types]}`);

      const { frames, depacketizer } = depacketize(asInputs(packets));
      const units = accessUnits(splitAnnexB(await Deno.readFile(esPath)));
      assert.equal(depacketizer.stats.malformedPackets, 0);
      assert.equal(frames.length, units.length);
      // The payloader may add parameter sets: compare everything else, NAL unit by NAL unit.
      const withoutParameterSets = (nalUnits: Uint8Array[]) =>
        nalUnits.filter((nal) => !isParameterSet(nal) && nalType(nal) !== NalType.Aud).map(toHex);
      assert.deepEqual(
        frames.map((f) => withoutParameterSets(splitLengthPrefixed(f.data))),
        units.map(withoutParameterSets),
      );
      assert.deepEqual(frames.map((f) => f.keyframe), units.map((nalUnits) => nalUnits.some(isIrap)));
      assert.ok(frames.every((f) => !f.keyframe || splitLengthPrefixed(f.data).filter(isParameterSet).length >= 3));

      const path = `${dir}/depacketized.h265`;
      await Deno.writeFile(path, annexB(frames));
      assert.deepEqual(await decodedPictureHashes(path), await decodedPictureHashes(esPath));
      const mp4Path = `${dir}/es.mp4`;
      await mustRun("ffmpeg", ["-v", "error", "-i", esPath, "-c", "copy", "-tag:v", "hvc1", "-f", "mp4", mp4Path]);
      const format = h265.format(frames[0]!, []);
      assert.deepEqual([format?.widthPx, format?.heightPx], [320, 240]);
      // h265parse writes a trailing_zero_8bits byte after the PPS (Annex B §B.2), which ffmpeg keeps as part of the
      // NAL unit in its hvcC, whereas the RTP payloader, rightly, does not send it: compare with trailing zeros cut.
      const trimmed = (record: ReturnType<typeof readHvcC>) => ({
        ...record,
        arrays: record.arrays.map((array) => ({
          ...array,
          nalUnits: array.nalUnits.map((hex) => hex.replace(/(00)+$/, "")),
        })),
      });
      const ffmpegHvcC = readHvcC(hvcCFromMp4(await Deno.readFile(mp4Path)));
      assert.deepEqual(readHvcC(format!.sampleEntry.config.body), { ...trimmed(ffmpegHvcC), trailingBytes: 0 });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
