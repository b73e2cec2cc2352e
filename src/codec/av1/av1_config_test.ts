/**
 * av1C records against ffmpeg's mp4 muxer: golden bytes it wrote for libaom streams, and the same comparison live,
 * field by field and then byte for byte, on freshly encoded streams together with what ffprobe reports.
 */

import assert from "node:assert/strict";
import { av1CodecConfigurationRecord } from "./av1_config.ts";
import { type Obu, ObuType, splitObus } from "./obu.ts";
import { av1 } from "./row.ts";
import { av1CodecString, type SequenceHeader } from "./sequence_header.ts";
import { BitWriter, encodeIvf, ffmpegAv1C, ffprobe, haveFfmpeg, ivfFrames, VARIANTS } from "./testing.ts";
import { bin, toHex } from "../../shared/testing.ts";

/** The sequence header OBU as libaom writes it into IVF (obu_has_size_field = 1) and the av1C ffmpeg wrote for it. */
const cases = [
  { name: "8-bit 4:2:0", obu: "0a0b000000043cffbcdaf90040", av1C: "81000c000a0b000000043cffbcdaf90040" },
  { name: "10-bit 4:2:0", obu: "0a0b000000043cffbcdaf94040", av1C: "81004c000a0b000000043cffbcdaf94040" },
  { name: "monochrome", obu: "0a0a00000003b5feb36be4a8", av1C: "81001c000a0a00000003b5feb36be4a8" },
  { name: "High 4:4:4", obu: "0a0d20000003b5feb36be4808080c8", av1C: "812000000a0d20000003b5feb36be4808080c8" },
];

for (const c of cases) {
  Deno.test(`av1CodecConfigurationRecord writes what ffmpeg writes for libaom ${c.name}`, () => {
    const [obu] = splitObus(bin(c.obu));
    assert.equal(toHex(av1CodecConfigurationRecord(obu!).record), c.av1C);
  });
}

Deno.test("av1CodecConfigurationRecord sets obu_has_size_field on an unsized sequence header, as RTP sends it", () => {
  const obu: Obu = { type: ObuType.SequenceHeader, header: bin("08"), payload: bin("000000043cffbcdaf90040") };
  assert.equal(toHex(av1CodecConfigurationRecord(obu).record), cases[0]!.av1C);
});

Deno.test("av1CodecConfigurationRecord writes tier, twelve_bit, 4:2:2 and a chroma sample position", () => {
  const professional = new BitWriter();
  professional.u(3, 2).u(2, 0).u(2, 0).u(5, 0).u(12, 0); // profile 2, plain header without timing, 1 operating point
  professional.u(5, 13).u(1, 1); // seq_level_idx[0] 13 (level 5.1), seq_tier[0] 1
  professional.u(4, 7).u(4, 7).u(8, 99).u(8, 49).u(1, 0); // 100x50, no frame ids
  professional.u(7, 0).u(1, 0).u(1, 1).u(1, 1).u(3, 0); // tools off, choose screen content and integer mv
  professional.u(1, 1).u(1, 1).u(1, 0).u(1, 0); // high_bitdepth, twelve_bit, not mono, no colour description
  professional.u(1, 0).u(1, 1).u(1, 0).u(1, 0).u(1, 0); // range, subsampling_x 1, subsampling_y 0, uv, grain
  const still = new BitWriter();
  still.u(3, 0).u(1, 1).u(1, 1).u(5, 14); // profile 0, still_picture, reduced_still_picture_header, level 5.2
  still.u(4, 7).u(4, 7).u(8, 99).u(8, 49).u(6, 0); // 100x50, tools off
  still.u(1, 0).u(1, 0).u(1, 0).u(1, 0).u(2, 2).u(1, 0).u(1, 0); // 8-bit 4:2:0, chroma_sample_position 2
  const cases: [BitWriter, string][] = [[professional, "814de800"], [still, "810e0e00"]];
  for (const [writer, start] of cases) {
    const payload = writer.bytes();
    const obu: Obu = { type: ObuType.SequenceHeader, header: bin("0a"), payload };
    const { record } = av1CodecConfigurationRecord(obu);
    assert.equal(toHex(record), start + "0a" + toHex(Uint8Array.of(payload.length)) + toHex(payload));
  }
});

Deno.test("av1CodecConfigurationRecord throws BadRequestError for a truncated sequence header", () => {
  const obu: Obu = { type: ObuType.SequenceHeader, header: bin("0a"), payload: bin("00 00 00") };
  assert.throws(() => av1CodecConfigurationRecord(obu), { name: "BadRequestError", message: /truncated/ });
});

Deno.test("av1CodecConfigurationRecord refuses an OBU that is not a sequence header", () => {
  const frame: Obu = { type: ObuType.Frame, header: bin("30"), payload: bin("10") };
  assert.throws(() => av1CodecConfigurationRecord(frame), {
    name: "BadRequestError",
    message: "av1C needs a sequence header OBU, got OBU type 6",
  });
});

/** The av1C fields (binding §2.3.3) by name, to show which one differs before comparing bytes. */
function fields(record: Uint8Array): Record<string, number | string> {
  return {
    marker: record[0]! >> 7,
    version: record[0]! & 0x7f,
    seq_profile: record[1]! >> 5,
    seq_level_idx_0: record[1]! & 0x1f,
    seq_tier_0: record[2]! >> 7,
    high_bitdepth: (record[2]! >> 6) & 1,
    twelve_bit: (record[2]! >> 5) & 1,
    monochrome: (record[2]! >> 4) & 1,
    chroma_subsampling_x: (record[2]! >> 3) & 1,
    chroma_subsampling_y: (record[2]! >> 2) & 1,
    chroma_sample_position: record[2]! & 3,
    initial_presentation_delay: record[3]!,
    configOBUs: toHex(record.subarray(4)),
  };
}

/** ffprobe's pix_fmt for a sequence header's colour format. */
function pixFmt(header: SequenceHeader): string {
  const depth = header.bitDepth > 8 ? `${header.bitDepth}le` : "";
  if (header.monochrome) return `gray${depth}`;
  const chroma = header.subsamplingX === 0 ? "444" : header.subsamplingY === 0 ? "422" : "420";
  return `yuv${chroma}p${depth}`;
}

Deno.test("av1 format matches ffmpeg's av1C and ffprobe's stream description on real encoder output", async (t) => {
  if (!await haveFfmpeg(t.name)) return;
  const dir = await Deno.makeTempDir({ prefix: "liverec-av1-config-" });
  try {
    for (const [i, variant] of VARIANTS.entries()) {
      const ivfPath = await encodeIvf(dir, variant, i);
      const first = ivfFrames(await Deno.readFile(ivfPath))[0]!;
      const keyframe = { timestamp: 0, keyframe: true, data: first };
      const format = av1.format(keyframe, []);
      assert(format !== undefined, variant.name);
      const ours = format.sampleEntry.config.body;
      const theirs = await ffmpegAv1C(ivfPath);
      assert.deepEqual(fields(ours), fields(theirs), variant.name);
      assert.equal(toHex(ours), toHex(theirs), variant.name);

      const sequenceHeader = splitObus(first).find((obu) => obu.type === ObuType.SequenceHeader)!;
      const { header } = av1CodecConfigurationRecord(sequenceHeader);
      const probe = await ffprobe(ivfPath);
      assert.deepEqual(
        [format.widthPx, format.heightPx, ["Main", "High", "Professional"][header.seqProfile], pixFmt(header)],
        [probe.widthPx, probe.heightPx, probe.profile, probe.pixFmt],
        variant.name,
      );
      assert.equal(format.sampleEntry.fourcc, "av01");
      assert.equal(format.sampleEntry.config.fourcc, "av1C");
      assert.equal(format.codecs, av1CodecString(header));
      assert.match(format.codecs, /^av01\.[0-2]\.\d\d[MH]\.(08|10|12)(\.[01]\.[01]{2}[0-3]\.\d\d\.\d\d\.\d\d\.[01])?$/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
