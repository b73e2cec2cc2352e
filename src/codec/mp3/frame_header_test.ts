import assert from "node:assert/strict";
import { bin, concat, toHex } from "../../shared/testing.ts";
import { mp3EsdsBody, type Mp3FrameHeader, parseMp3FrameHeader, splitMp3 } from "./frame_header.ts";

/** Golden headers laid out by hand from ISO/IEC 11172-3 §2.4.1.3 and 13818-3 §2.4.1.3. */
const GOLDEN: { name: string; header: string; fields: Mp3FrameHeader }[] = [
  {
    name: "MPEG-1 Layer III 128 kb/s 44.1 kHz joint stereo",
    // sync 11111111111, version 11, layer 01, protection 1 | bitrate 1001, rate 00, padding 0, private 0 | mode 01
    header: "fffb 9040",
    fields: {
      version: 1,
      hasCrc: false,
      bitrateKbps: 128,
      sampleRateHz: 44100,
      padding: false,
      channelMode: "joint_stereo",
      channels: 2,
      frameBytes: 417, // floor(144 * 128000 / 44100)
      samplesPerFrame: 1152,
      objectTypeIndication: 0x6b,
      codecs: "mp4a.6B",
    },
  },
  {
    name: "MPEG-1 Layer III 320 kb/s 48 kHz stereo, padded, with CRC",
    // version 11, layer 01, protection 0 | bitrate 1110, rate 01, padding 1 | mode 00
    header: "fffa e600",
    fields: {
      version: 1,
      hasCrc: true,
      bitrateKbps: 320,
      sampleRateHz: 48000,
      padding: true,
      channelMode: "stereo",
      channels: 2,
      frameBytes: 961, // 144 * 320000 / 48000 + 1
      samplesPerFrame: 1152,
      objectTypeIndication: 0x6b,
      codecs: "mp4a.6B",
    },
  },
  {
    name: "MPEG-2 Layer III 32 kb/s 22.05 kHz mono",
    // version 10 | bitrate 0100 (32 in the MPEG-2 table), rate 00 | mode 11
    header: "fff3 40c0",
    fields: {
      version: 2,
      hasCrc: false,
      bitrateKbps: 32,
      sampleRateHz: 22050,
      padding: false,
      channelMode: "mono",
      channels: 1,
      frameBytes: 104, // floor(72 * 32000 / 22050)
      samplesPerFrame: 576,
      objectTypeIndication: 0x69,
      codecs: "mp4a.69",
    },
  },
  {
    name: "MPEG-2.5 Layer III 8 kb/s 8 kHz dual channel",
    // version 00 | bitrate 0001, rate 10 (32000 / 4) | mode 10
    header: "ffe3 1880",
    fields: {
      version: 2.5,
      hasCrc: false,
      bitrateKbps: 8,
      sampleRateHz: 8000,
      padding: false,
      channelMode: "dual_channel",
      channels: 2,
      frameBytes: 72,
      samplesPerFrame: 576,
      objectTypeIndication: 0x69,
      codecs: "mp4a.69",
    },
  },
];

for (const { name, header, fields } of GOLDEN) {
  Deno.test(`parseMp3FrameHeader reads ${name}`, () => {
    assert.deepEqual(parseMp3FrameHeader(bin(header)), { ok: true, value: fields });
  });
}

Deno.test("parseMp3FrameHeader refuses with a reason, never throws", () => {
  const cases: [string, RegExp][] = [
    ["fffb90", /3 bytes left/],
    ["fefb9040", /no frame sync/],
    ["ffeb9040", /reserved MPEG version/],
    ["fffd9040", /layer 2 is not MP3/],
    ["ffff9040", /layer 1 is not MP3/],
    ["fff99040", /reserved layer/],
    ["fffb0040", /free-format/],
    ["fffbf040", /bitrate_index 15/],
    ["fffb9c40", /reserved sampling_frequency/],
    ["fffb9042", /reserved emphasis/],
  ];
  for (const [hex, reason] of cases) {
    const parsed = parseMp3FrameHeader(bin(hex));
    assert.ok(!parsed.ok, hex);
    assert.match(parsed.reason, reason, hex);
  }
  let seed = 5;
  for (let i = 0; i < 5000; i++) {
    const bytes = Uint8Array.from({ length: 4 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    bytes[0] = 0xff;
    const parsed = parseMp3FrameHeader(bytes);
    if (parsed.ok) assert.ok(parsed.value.frameBytes >= 24 && parsed.value.frameBytes <= 1441, toHex(bytes));
  }
});

Deno.test("splitMp3 skips an ID3v2 tag and cuts frames at their lengths", () => {
  const frame = (header: string, length: number) => {
    const bytes = new Uint8Array(length);
    bytes.set(bin(header));
    return bytes;
  };
  // ID3v2.4 header with a syncsafe size of 130 (0x01 0x02 = 1 << 7 | 2), then its 130 bytes
  const id3 = concat([bin("'ID3' 0400 00 00000102"), new Uint8Array(130)]);
  const frames = [frame("fff340c0", 104), frame("fff342c0", 105), frame("fff340c0", 104)];
  const split = splitMp3(concat([id3, ...frames]));
  assert.equal(split.reason, undefined);
  assert.deepEqual(split.frames.map((f) => f.data.length), [104, 105, 104]);
  assert.deepEqual(split.frames.map((f) => f.header.padding), [false, true, false]);

  const torn = splitMp3(concat([...frames, bin("fff340")]));
  assert.equal(torn.frames.length, 3);
  assert.match(torn.reason ?? "", /offset 313: 3 bytes left/);
});

Deno.test("mp3EsdsBody declares the header's object type without DecoderSpecificInfo", () => {
  const mpeg2 = parseMp3FrameHeader(bin("fff340c0"));
  assert.ok(mpeg2.ok);
  assert.equal(
    toHex(mp3EsdsBody(mpeg2.value, { maxBitrate: 32000, avgBitrate: 32000 })),
    toHex(bin("00000000 03808080 1b 0000 00 04808080 0d 69 15 000000 00007d00 00007d00 06808080 01 02")),
  );
});
