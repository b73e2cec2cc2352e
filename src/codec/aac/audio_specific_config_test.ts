import assert from "node:assert/strict";
import { bin, toHex } from "../../shared/testing.ts";
import { type AacConfig, audioSpecificConfig, parseAudioSpecificConfig } from "./audio_specific_config.ts";

/** Golden AudioSpecificConfigs, bits laid out by hand from ISO/IEC 14496-3 §1.6.2.1, with what they must read as. */
const GOLDEN: { name: string; asc: string; config: AacConfig }[] = [
  {
    name: "AAC-LC 48 kHz stereo",
    // 00010 (LC) 0011 (48000) 0010 (stereo) 0 0 0 (GASpecificConfig)
    asc: "1190",
    config: {
      objectType: 2,
      coreObjectType: 2,
      sbr: false,
      ps: false,
      samplingFrequencyIndex: 3,
      coreSampleRateHz: 48000,
      sampleRateHz: 48000,
      channelConfiguration: 2,
      channels: 2,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 1024,
      codecs: "mp4a.40.2",
    },
  },
  {
    name: "AAC-LC with a sync extension saying 'no SBR' (as ffmpeg's encoder writes it)",
    // 1190, then 0x2b7 (11 bits) 00101 (SBR) 0 (sbrPresentFlag) and zero padding
    asc: "1190 56e5 00",
    config: {
      objectType: 2,
      coreObjectType: 2,
      sbr: false,
      ps: false,
      samplingFrequencyIndex: 3,
      coreSampleRateHz: 48000,
      sampleRateHz: 48000,
      channelConfiguration: 2,
      channels: 2,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 1024,
      codecs: "mp4a.40.2",
    },
  },
  {
    name: "AAC-LC 44.1 kHz mono with 960-sample frames",
    // 00010 0100 (44100) 0001 (mono) 1 (frameLengthFlag) 0 0
    asc: "120c",
    config: {
      objectType: 2,
      coreObjectType: 2,
      sbr: false,
      ps: false,
      samplingFrequencyIndex: 4,
      coreSampleRateHz: 44100,
      sampleRateHz: 44100,
      channelConfiguration: 1,
      channels: 1,
      coreSamplesPerFrame: 960,
      samplesPerFrame: 960,
      codecs: "mp4a.40.2",
    },
  },
  {
    name: "AAC-LTP 16 kHz mono",
    // 00100 (LTP) 1000 (16000) 0001 000
    asc: "2408",
    config: {
      objectType: 4,
      coreObjectType: 4,
      sbr: false,
      ps: false,
      samplingFrequencyIndex: 8,
      coreSampleRateHz: 16000,
      sampleRateHz: 16000,
      channelConfiguration: 1,
      channels: 1,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 1024,
      codecs: "mp4a.40.4",
    },
  },
  {
    name: "an explicit 24-bit sampling frequency",
    // 00010 1111 (explicit) 0x00ac44 (44100) 0010 000
    asc: "1780562210",
    config: {
      objectType: 2,
      coreObjectType: 2,
      sbr: false,
      ps: false,
      samplingFrequencyIndex: 15,
      coreSampleRateHz: 44100,
      sampleRateHz: 44100,
      channelConfiguration: 2,
      channels: 2,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 1024,
      codecs: "mp4a.40.2",
    },
  },
  {
    name: "HE-AAC signalled explicitly (object type 5): 24 kHz mono core, 48 kHz output",
    // 00101 (SBR) 0110 (24000) 0001 (mono) 0011 (extension 48000) 00010 (LC core) 000
    asc: "2b098800",
    config: {
      objectType: 5,
      coreObjectType: 2,
      sbr: true,
      ps: false,
      samplingFrequencyIndex: 6,
      coreSampleRateHz: 24000,
      sampleRateHz: 48000,
      channelConfiguration: 1,
      channels: 1,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 2048,
      codecs: "mp4a.40.5",
    },
  },
  {
    name: "HE-AAC with 960-sample frames: 1920 samples at the output rate",
    // 00101 0110 0010 (stereo) 0011 00010 1 (frameLengthFlag) 00
    asc: "2b118a00",
    config: {
      objectType: 5,
      coreObjectType: 2,
      sbr: true,
      ps: false,
      samplingFrequencyIndex: 6,
      coreSampleRateHz: 24000,
      sampleRateHz: 48000,
      channelConfiguration: 2,
      channels: 2,
      coreSamplesPerFrame: 960,
      samplesPerFrame: 1920,
      codecs: "mp4a.40.5",
    },
  },
  {
    name: "HE-AAC v2 signalled explicitly (object type 29): PS makes the mono core stereo",
    // 11101 (PS) 0110 0001 0011 00010 000
    asc: "eb098800",
    config: {
      objectType: 29,
      coreObjectType: 2,
      sbr: true,
      ps: true,
      samplingFrequencyIndex: 6,
      coreSampleRateHz: 24000,
      sampleRateHz: 48000,
      channelConfiguration: 1,
      channels: 2,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 2048,
      codecs: "mp4a.40.29",
    },
  },
  {
    name: "HE-AAC by the backward-compatible sync extension",
    // 00010 0110 0001 000 (LC 24 kHz mono), 0x2b7, 00101, 1 (sbrPresentFlag), 0011 (48000)
    asc: "130856e598",
    config: {
      objectType: 5,
      coreObjectType: 2,
      sbr: true,
      ps: false,
      samplingFrequencyIndex: 6,
      coreSampleRateHz: 24000,
      sampleRateHz: 48000,
      channelConfiguration: 1,
      channels: 1,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 2048,
      codecs: "mp4a.40.5",
    },
  },
  {
    name: "HE-AAC v2 by the backward-compatible sync extensions (0x2b7, then 0x548)",
    // as above, then 0x548 (11 bits) 1 (psPresentFlag)
    asc: "130856e59d4880",
    config: {
      objectType: 29,
      coreObjectType: 2,
      sbr: true,
      ps: true,
      samplingFrequencyIndex: 6,
      coreSampleRateHz: 24000,
      sampleRateHz: 48000,
      channelConfiguration: 1,
      channels: 2,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 2048,
      codecs: "mp4a.40.29",
    },
  },
  {
    name: "channel configuration 0 with a 5.1 program_config_element",
    // 00010 0011 0000 000, PCE: front SCE + CPE, back CPE, one LFE (6 channels), byte_alignment, no comment
    asc: "118004c8050001190000",
    config: {
      objectType: 2,
      coreObjectType: 2,
      sbr: false,
      ps: false,
      samplingFrequencyIndex: 3,
      coreSampleRateHz: 48000,
      sampleRateHz: 48000,
      channelConfiguration: 0,
      channels: 6,
      coreSamplesPerFrame: 1024,
      samplesPerFrame: 1024,
      codecs: "mp4a.40.2",
    },
  },
];

for (const { name, asc, config } of GOLDEN) {
  Deno.test(`parseAudioSpecificConfig reads ${name}`, () => {
    assert.deepEqual(parseAudioSpecificConfig(bin(asc)), { ok: true, value: config });
  });
}

Deno.test("parseAudioSpecificConfig reads a program_config_element's comment up to a sync extension", () => {
  // The 5.1 PCE with a 2-byte comment "AB", then a sync extension signalling SBR at 96 kHz (index 0).
  const asc = bin("118004c805000119 0002 4142 56e580");
  const parsed = parseAudioSpecificConfig(asc);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  assert.deepEqual(
    { channels: parsed.value.channels, sbr: parsed.value.sbr, sampleRateHz: parsed.value.sampleRateHz },
    { channels: 6, sbr: true, sampleRateHz: 96000 },
  );
});

Deno.test("parseAudioSpecificConfig refuses with a reason, never throws", () => {
  const cases: [string, string][] = [
    ["", "truncated while reading audioObjectType"],
    ["11", "truncated while reading samplingFrequencyIndex"],
    // 11111 001010 = escape to 32 + 10 = 42 (USAC)
    ["f94640", "audioObjectType 42 is not an AAC core"],
    // 00010 1101 (reserved index 13)
    ["1680", "samplingFrequencyIndex 13 is reserved"],
    // 00010 0011 1000 (channelConfiguration 8, reserved)
    ["11c0", "channelConfiguration 8 is reserved"],
    // LC with channel configuration 0 and a PCE cut short
    ["118004", "truncated while reading"],
  ];
  for (const [hex, reason] of cases) {
    const parsed = parseAudioSpecificConfig(bin(hex));
    assert.ok(!parsed.ok, hex);
    assert.match(parsed.reason, new RegExp(reason), hex);
  }
});

Deno.test("parseAudioSpecificConfig never throws on random bytes", () => {
  let seed = 7;
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.from({ length: i % 12 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    const parsed = parseAudioSpecificConfig(bytes);
    if (parsed.ok) assert.ok(parsed.value.channels > 0 && parsed.value.sampleRateHz > 0);
  }
});

Deno.test("audioSpecificConfig writes the 2-byte form and reads back", () => {
  const asc = audioSpecificConfig({ objectType: 2, samplingFrequencyIndex: 3, channelConfiguration: 2 });
  assert.equal(toHex(asc), "1190");
  const mono = audioSpecificConfig({ objectType: 2, samplingFrequencyIndex: 11, channelConfiguration: 1 });
  const parsed = parseAudioSpecificConfig(mono);
  assert.ok(parsed.ok);
  assert.deepEqual([parsed.value.sampleRateHz, parsed.value.channels], [8000, 1]);
});
