import assert from "node:assert/strict";
import { bin, concat, toHex } from "../../shared/testing.ts";
import {
  ADTS_MAX_PAYLOAD_BYTES,
  adtsAudioSpecificConfig,
  adtsFraming,
  adtsHeader,
  parseAdtsHeader,
  splitAdts,
} from "./adts.ts";
import { parseAudioSpecificConfig } from "./audio_specific_config.ts";

function config(hex: string) {
  const parsed = parseAudioSpecificConfig(bin(hex));
  assert.ok(parsed.ok, hex);
  return parsed.value;
}

/** Golden headers laid out by hand (ISO/IEC 14496-3 §1.A.2.2.1): syncword FFF, ID 0, layer 00, no CRC, VBR. */
const GOLDEN = [
  {
    name: "AAC-LC 48 kHz stereo, 100-byte frame",
    asc: "1190",
    payloadBytes: 100,
    // profile 01, index 0011, private 0, channels 010, frame length 107 = 0b00000_01101011, fullness 0x7FF, 0 blocks
    header: "fff1 4c80 0d7f fc",
  },
  {
    name: "HE-AAC (24 kHz mono LC core): framed as its core, as is standard",
    asc: "2b098800",
    payloadBytes: 300,
    // profile 01, index 0110 (24000), channels 001, frame length 307
    header: "fff1 5840 267f fc",
  },
  {
    name: "HE-AAC v2 by sync extension: the LC core again",
    asc: "130856e59d4880",
    payloadBytes: 300,
    header: "fff1 5840 267f fc",
  },
  {
    name: "AAC Main 96 kHz 7.1 (configuration 7), largest frame",
    asc: "0838",
    payloadBytes: ADTS_MAX_PAYLOAD_BYTES,
    // profile 00, index 0000, channels 111, frame length 8191
    header: "fff1 01c3 ffff fc",
  },
];

for (const { name, asc, payloadBytes, header } of GOLDEN) {
  Deno.test(`adtsHeader writes ${name}`, () => {
    const framing = adtsFraming(config(asc));
    assert.ok(framing.ok);
    const bytes = adtsHeader(framing.value, payloadBytes);
    assert.equal(toHex(bytes), toHex(bin(header)));
    const parsed = parseAdtsHeader(bytes);
    assert.ok(parsed.ok);
    assert.equal(parsed.value.frameBytes, 7 + payloadBytes);
    assert.equal(parsed.value.rawDataBlocks, 1);
    assert.equal(parsed.value.bufferFullness, 0x7ff);
  });
}

Deno.test("adtsFraming refuses what ADTS cannot express", () => {
  const cases: [string, RegExp][] = [
    ["120c", /960-sample frames/],
    ["118004c8050001190000", /channelConfiguration 0/],
    // explicit 44.1 kHz maps to index 4; an explicit 44000 Hz has no index
    ["178055f010", /sampling rate of 44000 Hz/],
  ];
  for (const [asc, reason] of cases) {
    const framing = adtsFraming(config(asc));
    assert.ok(!framing.ok, asc);
    assert.match(framing.reason, reason);
  }
  const explicit44100 = adtsFraming(config("1780562210"));
  assert.deepEqual(explicit44100, {
    ok: true,
    value: { profile: 1, samplingFrequencyIndex: 4, channelConfiguration: 2 },
  });
});

Deno.test("parseAdtsHeader reads an MPEG-2 header with CRC and the AudioSpecificConfig it implies", () => {
  // ID 1 (MPEG-2), protection_absent 0, profile 01 (LC), index 0100 (44100), channels 001, length 209, 1 block
  const header = bin("fff8 5040 1a3f fc 1234");
  const parsed = parseAdtsHeader(header);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, {
    mpegVersion: 2,
    objectType: 2,
    samplingFrequencyIndex: 4,
    sampleRateHz: 44100,
    channelConfiguration: 1,
    hasCrc: true,
    headerBytes: 9,
    frameBytes: 209,
    bufferFullness: 0x7ff,
    rawDataBlocks: 1,
  });
  const asc = adtsAudioSpecificConfig(parsed.value);
  assert.ok(asc.ok);
  assert.equal(toHex(asc.value), "1208");
});

Deno.test("parseAdtsHeader refuses bad headers with a reason", () => {
  const cases: [string, RegExp][] = [
    ["fff14c800d7f", /6 bytes left/],
    ["fef14c800d7ffc", /no syncword/],
    ["fff34c800d7ffc", /layer 1/],
    ["fff17c800d7ffc", /index 15 is reserved/],
    ["fff14c80007ffc", /shorter than the header/],
  ];
  for (const [hex, reason] of cases) {
    const parsed = parseAdtsHeader(bin(hex));
    assert.ok(!parsed.ok, hex);
    assert.match(parsed.reason, reason, hex);
  }
});

Deno.test("splitAdts returns each raw frame and stops with a reason at a broken frame", () => {
  const framing = { profile: 1, samplingFrequencyIndex: 3, channelConfiguration: 2 };
  const frames = [bin("010203"), bin("0405"), new Uint8Array(0)];
  const stream = concat(frames.flatMap((frame) => [adtsHeader(framing, frame.length), frame]));
  const split = splitAdts(stream);
  assert.equal(split.reason, undefined);
  assert.deepEqual(split.frames.map((f) => toHex(f.payload)), ["010203", "0405", ""]);

  const truncated = splitAdts(stream.subarray(0, stream.length - 8));
  assert.equal(truncated.frames.length, 1);
  assert.match(truncated.reason ?? "", /offset 10 is truncated/);

  const twoBlocks = adtsHeader(framing, 3);
  twoBlocks[6] = twoBlocks[6]! | 1;
  assert.match(splitAdts(concat([twoBlocks, bin("010203")])).reason ?? "", /holds 2 raw data blocks/);
});
