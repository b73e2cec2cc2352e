import assert from "node:assert/strict";
import * as MP4Box from "mp4box";
import { bin, toHex } from "../../shared/testing.ts";
import { aacEsdsBody, esdsBody, type EsdsFields, parseEsds } from "./esds.ts";

/** Golden esds bodies: what ffmpeg 5.1's mp4 muxer wrote for these streams, with its ES_ID (the track ID) set to 0. */
const GOLDEN: { name: string; fields: EsdsFields; body: string }[] = [
  {
    name: "AAC-LC 48 kHz stereo (ffmpeg's aac encoder, 128 kb/s)",
    fields: {
      objectTypeIndication: 0x40,
      bufferSizeBytes: 0,
      maxBitrate: 128000,
      avgBitrate: 127621,
      decoderSpecificInfo: bin("119056e500"),
    },
    body: "00000000 03808080 25 0000 00" + // version/flags, ES_Descriptor, ES_ID, flags
      "04808080 17 40 15 000000 0001f400 0001f285" + // DecoderConfigDescriptor: oti, audio, buffer, max, avg
      "05808080 05 119056e500" + // DecoderSpecificInfo: the AudioSpecificConfig
      "06808080 01 02", // SLConfigDescriptor: predefined 2 (MP4)
  },
  {
    name: "MP3 MPEG-1 44.1 kHz (libmp3lame): no DecoderSpecificInfo",
    fields: { objectTypeIndication: 0x6b, bufferSizeBytes: 0, maxBitrate: 130474, avgBitrate: 130474 },
    body: "00000000 03808080 1b 0000 00 04808080 0d 6b 15 000000 0001fdaa 0001fdaa 06808080 01 02",
  },
];

function esdsBox(body: Uint8Array): Uint8Array {
  const box = new Uint8Array(8 + body.length);
  new DataView(box.buffer).setUint32(0, box.length);
  box.set(bin("'esds'"), 4);
  box.set(body, 8);
  return box;
}

/** mp4box.js's reading of an esds box: the independent judge of the bytes. */
function mp4boxEsd(body: Uint8Array) {
  const file = MP4Box.createFile(true);
  file.appendBuffer(MP4Box.MP4BoxBuffer.fromArrayBuffer(esdsBox(body).slice().buffer, 0), true);
  file.flush();
  // deno-lint-ignore no-explicit-any
  const esd = (file.boxes[0] as any).esd;
  const decoderConfig = esd.descs.find((d: { tag: number }) => d.tag === 4);
  const sl = esd.descs.find((d: { tag: number }) => d.tag === 6);
  const dsi = decoderConfig.descs.find((d: { tag: number }) => d.tag === 5);
  return {
    esId: esd.ES_ID,
    oti: decoderConfig.oti,
    streamType: decoderConfig.streamType,
    bufferSize: decoderConfig.bufferSize,
    maxBitrate: decoderConfig.maxBitrate,
    avgBitrate: decoderConfig.avgBitrate,
    dsi: dsi === undefined ? undefined : toHex(dsi.data),
    slPredefined: sl.data[0],
  };
}

for (const { name, fields, body } of GOLDEN) {
  Deno.test(`esdsBody writes ${name}`, () => {
    const bytes = esdsBody(fields);
    assert.equal(toHex(bytes), toHex(bin(body)));
    assert.deepEqual(parseEsds(bytes), { ok: true, value: fields });
    assert.deepEqual(mp4boxEsd(bytes), {
      esId: 0,
      oti: fields.objectTypeIndication,
      streamType: 5,
      bufferSize: fields.bufferSizeBytes,
      maxBitrate: fields.maxBitrate,
      avgBitrate: fields.avgBitrate,
      dsi: fields.decoderSpecificInfo === undefined ? undefined : toHex(fields.decoderSpecificInfo),
      slPredefined: 2,
    });
  });
}

Deno.test("aacEsdsBody is esdsBody with object type 0x40 and the AudioSpecificConfig", () => {
  assert.equal(
    toHex(aacEsdsBody(bin("1190"))),
    toHex(
      bin("00000000 03808080 22 0000 00 04808080 14 40 15 000000 00000000 00000000 05808080 02 1190 06808080 01 02"),
    ),
  );
});

Deno.test("parseEsds reads 1-byte descriptor sizes and the optional ES_Descriptor fields", () => {
  // ES_ID 1, streamDependenceFlag + URL_Flag + OCRstreamFlag set: dependsOn 2, URL "ab", OCR 3
  const body = bin(
    "00000000 03 20 0001 e0 0002 02 6162 0003 04 11 40 15 000100 00020000 00010000 05 02 1208 06 01 02",
  );
  assert.deepEqual(parseEsds(body), {
    ok: true,
    value: {
      objectTypeIndication: 0x40,
      bufferSizeBytes: 256,
      maxBitrate: 0x20000,
      avgBitrate: 0x10000,
      decoderSpecificInfo: bin("1208"),
    },
  });
});

Deno.test("parseEsds refuses with a reason, never throws", () => {
  const cases: [string, RegExp][] = [
    ["0000", /2 bytes/],
    ["01000000 03 03 0000 00", /version 1/],
    ["00000000 04 03 0000 00", /expected an ES_Descriptor/],
    ["00000000 03 09 0000 00", /claims 9 bytes, 3 left/],
    ["00000000 03 03 0000 00", /no DecoderConfigDescriptor/],
    ["00000000 03 808080 80 01", /longer than 4 bytes/],
    ["00000000 03 12 0000 00 04 0d 20 11 000000 00000000 00000000", /streamType 4 is not audio/],
  ];
  for (const [hex, reason] of cases) {
    const parsed = parseEsds(bin(hex));
    assert.ok(!parsed.ok, hex);
    assert.match(parsed.reason, reason, hex);
  }
  let seed = 3;
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.from({ length: 4 + (i % 40) }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    bytes[0] = 0;
    bytes[4] = 0x03;
    parseEsds(bytes);
  }
});
