import assert from "node:assert/strict";
import { mp3EsdsBody, toLengthPrefixed } from "../../codec/mod.ts";
import { type FlvRecord, parseAudioTag, parseVideoTag } from "../../ingest/rtmp/flv_tags.ts";
import { bin, toHex } from "../../shared/testing.ts";
import { AVCC_720P } from "../test_helpers.ts";
import type { Sample, TrackInfo } from "../track.ts";
import { type FlvStream, openFlvStream } from "./codecs.ts";
import { flvTag, TagType } from "./tags.ts";
import {
  AAC_TRACK,
  ASC_48K_STEREO,
  audioTrack,
  AV1_TRACK,
  AV1C,
  AVC_TRACK,
  HEVC_TRACK,
  HVCC,
  MP3_TRACK,
  OPUS_TRACK,
  VP8_TRACK,
  VP9_TRACK,
  VPCC,
} from "./testing.ts";

function open(track: TrackInfo): FlvStream {
  const stream = openFlvStream(track.codec);
  if ("refused" in stream) throw new Error(stream.refused);
  return stream;
}

function sample(data: Uint8Array, isSync = true): Sample {
  return { durationTicks: 3000, ctsOffsetTicks: 0, isSync, data };
}

const IDR = toLengthPrefixed([bin("65 88 84 00")]);
const HEVC_IDR = toLengthPrefixed([bin("26 01 af 00")]);

Deno.test("a legacy AVC sequence header tag has FrameType 1, CodecID 7, AVCPacketType 0 and the avcC", () => {
  const tag = flvTag(TagType.Video, 0, open(AVC_TRACK).sequenceHeader!);
  const expected = bin(
    "09" + // TagType 9: video
      "000021" + // DataSize: 33 = 5 header bytes + the 28-byte avcC
      "000000 00" + // Timestamp 0, TimestampExtended 0
      "000000" + // StreamID 0
      "17" + // FrameType 1 (key frame) << 4 | CodecID 7 (AVC)
      "00" + // AVCPacketType 0: sequence header
      "000000" + // CompositionTime 0
      toHex(AVCC_720P) + // AVCDecoderConfigurationRecord
      "0000002c", // PreviousTagSize: 11 + 33
  );
  assert.equal(AVCC_720P.length, 28);
  assert.equal(toHex(tag), toHex(expected));
});

Deno.test("a legacy AVC frame tag carries FrameType 2 for a non-sync sample and a negative SI24 composition time", () => {
  const body = open(AVC_TRACK).frame(sample(IDR, false), -40);
  assert.equal(
    toHex(body),
    "27" + // FrameType 2 (inter frame) << 4 | CodecID 7 (AVC)
      "01" + // AVCPacketType 1: NAL units
      "ffffd8" + // CompositionTime -40 ms, two's complement
      "0000000465888400", // the sample: one 4-byte length-prefixed NAL unit
  );
});

Deno.test("legacy AAC tags: SoundFormat 10 with 44 kHz, 16-bit, stereo bits, the AudioSpecificConfig, raw frames", () => {
  const stream = open(AAC_TRACK);
  const header = bin(
    "08" + // TagType 8: audio
      "000004" + // DataSize 4
      "234567 01" + // Timestamp: the low 24 bits of 0x01234567 ms; TimestampExtended: the upper 8
      "000000" + // StreamID 0
      "af" + // SoundFormat 10 (AAC) << 4 | SoundRate 3 (44 kHz) << 2 | SoundSize 1 (16-bit) << 1 | SoundType 1 (stereo)
      "00" + // AACPacketType 0: sequence header
      toHex(ASC_48K_STEREO) + // AudioSpecificConfig: AAC-LC, 48 kHz, 2 channels
      "0000000f", // PreviousTagSize: 11 + 4
  );
  assert.equal(toHex(flvTag(TagType.Audio, 0x0123_4567, stream.sequenceHeader!)), toHex(header));
  const raw = bin(
    "af" + // the same SoundFormat, SoundRate, SoundSize, SoundType
      "01" + // AACPacketType 1: raw AAC frame
      "211005", // the frame
  );
  assert.equal(toHex(stream.frame(sample(bin("211005")), 0)), toHex(raw));
});

Deno.test("E-RTMP HEVC tags: SequenceStart with the hvcC, CodedFrames with an SI24 offset, else CodedFramesX", () => {
  const stream = open(HEVC_TRACK);
  const tag = flvTag(TagType.Video, 40, stream.frame(sample(HEVC_IDR), 80));
  const expected = bin(
    "09" + // TagType 9: video
      "000010" + // DataSize 16
      "000028 00" + // Timestamp 40 ms, TimestampExtended 0
      "000000" + // StreamID 0
      "91" + // IsExHeader 1, VideoFrameType 1 (key frame), VideoPacketType 1 (CodedFrames)
      "'hvc1'" + // VideoFourCc
      "000050" + // compositionTimeOffset: 80 ms (SI24)
      "00000004 2601af00" + // the sample: one 4-byte length-prefixed NAL unit
      "0000001b", // PreviousTagSize: 11 + 16
  );
  assert.equal(toHex(tag), toHex(expected));
  const inter = bin(
    "a3" + // IsExHeader 1, VideoFrameType 2 (inter frame), VideoPacketType 3 (CodedFramesX: offset 0, left out)
      "'hvc1'" + // VideoFourCc
      "00000004 2601af00", // the sample
  );
  assert.equal(toHex(stream.frame(sample(HEVC_IDR, false), 0)), toHex(inter));
  const start = bin(
    "90" + // IsExHeader 1, VideoFrameType 1 (key frame), VideoPacketType 0 (SequenceStart)
      "'hvc1'" + // VideoFourCc
      toHex(HVCC), // HEVCDecoderConfigurationRecord
  );
  assert.equal(toHex(stream.sequenceHeader!), toHex(start));
});

/** The one record the ingest parser reads from a tag body of `stream`. */
function parse(stream: FlvStream, body: Uint8Array, timestampMs = 1000): FlvRecord {
  const records = stream.kind === "video" ? parseVideoTag(body, timestampMs) : parseAudioTag(body, timestampMs);
  assert.equal(records.length, 1, JSON.stringify(records));
  return records[0]!;
}

/** 6-channel Opus (mapping family 1): 4 streams, 2 coupled, Vorbis channel order. */
const DOPS_6CH = bin("00 06 0138 0000bb80 0000 01 04 02 000401020305");

const ROUND_TRIPS: {
  name: string;
  track: TrackInfo;
  codec: string;
  /** The decoder configuration the ingest parser must read back; undefined for none (MP3). */
  config?: Uint8Array;
  frames: { data: Uint8Array; isSync: boolean; ctsOffsetMs: number }[];
}[] = [
  {
    name: "H.264 (legacy)",
    track: AVC_TRACK,
    codec: "avc1",
    config: AVCC_720P,
    frames: [
      { data: IDR, isSync: true, ctsOffsetMs: 80 },
      { data: toLengthPrefixed([bin("41 9a 00"), bin("41 9b 01 02")]), isSync: false, ctsOffsetMs: -33 },
      { data: toLengthPrefixed([bin("01 9e 00")]), isSync: false, ctsOffsetMs: 0 },
    ],
  },
  {
    name: "H.265 (E-RTMP)",
    track: HEVC_TRACK,
    codec: "hvc1",
    config: HVCC,
    frames: [
      { data: HEVC_IDR, isSync: true, ctsOffsetMs: 0 },
      { data: toLengthPrefixed([bin("02 01 d0 00")]), isSync: false, ctsOffsetMs: 8_388_607 },
      { data: toLengthPrefixed([bin("02 01 d0 01")]), isSync: false, ctsOffsetMs: -8_388_608 },
    ],
  },
  {
    name: "AV1 (E-RTMP)",
    track: AV1_TRACK,
    codec: "av01",
    config: AV1C,
    frames: [{ data: bin("32 02 aabb"), isSync: true, ctsOffsetMs: 0 }, {
      data: bin("32 01 cc"),
      isSync: false,
      ctsOffsetMs: 0,
    }],
  },
  {
    name: "VP9 (E-RTMP)",
    track: VP9_TRACK,
    codec: "vp09",
    config: VPCC,
    frames: [{ data: bin("82 49 83 42 00"), isSync: true, ctsOffsetMs: 0 }, {
      data: bin("86 00"),
      isSync: false,
      ctsOffsetMs: 0,
    }],
  },
  {
    name: "VP8 (E-RTMP)",
    track: VP8_TRACK,
    codec: "vp08",
    config: VPCC,
    frames: [{ data: bin("10 02 00 9d 01 2a"), isSync: true, ctsOffsetMs: 0 }],
  },
  {
    name: "AAC (legacy)",
    track: AAC_TRACK,
    codec: "mp4a",
    config: ASC_48K_STEREO,
    frames: [{ data: bin("21 10 05 ff"), isSync: true, ctsOffsetMs: 0 }],
  },
  {
    name: "MP3 (legacy)",
    track: MP3_TRACK,
    codec: ".mp3",
    frames: [{ data: bin("ff fb 90 64 00 00"), isSync: true, ctsOffsetMs: 0 }],
  },
  {
    name: "stereo Opus (E-RTMP)",
    track: OPUS_TRACK,
    codec: "Opus",
    // 'OpusHead', version 1, 2 channels, pre-skip 312, 48000 Hz, gain 0, family 0: little-endian (RFC 7845 §5.1)
    config: bin("'OpusHead' 01 02 3801 80bb0000 0000 00"),
    frames: [{ data: bin("fc ff fe"), isSync: true, ctsOffsetMs: 0 }],
  },
  {
    name: "6-channel Opus (E-RTMP)",
    track: audioTrack("Opus", "dOps", DOPS_6CH, 48000, 6),
    codec: "Opus",
    config: bin("'OpusHead' 01 06 3801 80bb0000 0000 01 04 02 000401020305"),
    frames: [{ data: bin("fc ff fe 00"), isSync: true, ctsOffsetMs: 0 }],
  },
];

for (const { name, track, codec, config, frames } of ROUND_TRIPS) {
  Deno.test(`${name} tag bodies parse back with the RTMP ingest parser to the same codec, config and frames`, () => {
    const stream = open(track);
    assert.equal(stream.kind, track.codec.kind);
    assert.equal(stream.tagType, track.codec.kind === "video" ? TagType.Video : TagType.Audio);
    if (config === undefined) {
      assert.equal(stream.sequenceHeader, null);
    } else {
      const record = parse(stream, stream.sequenceHeader!);
      assert.ok(record.type === "config", JSON.stringify(record));
      assert.equal(record.codec, codec);
      assert.equal(toHex(record.config), toHex(config));
    }
    for (const frame of frames) {
      const record = parse(stream, stream.frame(sample(frame.data, frame.isSync), frame.ctsOffsetMs), 1234);
      assert.ok(record.type === "frame", JSON.stringify(record));
      assert.equal(record.codec, codec);
      assert.equal(record.dtsMs, 1234);
      assert.equal(toHex(record.data), toHex(frame.data));
      assert.equal(record.ctsOffsetMs, frame.ctsOffsetMs);
      assert.equal(record.keyframe, frame.isSync);
    }
  });
}

Deno.test("the config the ingest parser reads from the vpcC SequenceStart is the vpcC body, version and flags first", () => {
  const body = open(VP9_TRACK).sequenceHeader!;
  assert.equal(toHex(body), toHex(bin("90 'vp09'" + toHex(VPCC))));
  assert.deepEqual([...body.subarray(5, 9)], [1, 0, 0, 0]);
});

Deno.test("MP3 tags use SoundFormat 2 with the SoundRate nearest the track's rate, and its channels", () => {
  const cases = [
    { rateHz: 44100, channels: 2, firstByte: 0x2f, readRateHz: 44100 },
    { rateHz: 48000, channels: 2, firstByte: 0x2f, readRateHz: 44100 },
    { rateHz: 32000, channels: 1, firstByte: 0x2e, readRateHz: 44100 },
    { rateHz: 24000, channels: 2, firstByte: 0x2b, readRateHz: 22050 },
    { rateHz: 22050, channels: 1, firstByte: 0x2a, readRateHz: 22050 },
    { rateHz: 16000, channels: 1, firstByte: 0x2a, readRateHz: 22050 },
    { rateHz: 11025, channels: 2, firstByte: 0x27, readRateHz: 11025 },
    { rateHz: 8000, channels: 1, firstByte: 0x26, readRateHz: 11025 },
  ];
  for (const { rateHz, channels, firstByte, readRateHz } of cases) {
    const track = audioTrack("mp4a", "esds", MP3_TRACK.codec.sampleEntry.config.body, rateHz, channels);
    const stream = open(track);
    const body = stream.frame(sample(bin("ff f3 48 c4")), 0);
    assert.equal(body[0], firstByte, `${rateHz} Hz ${channels} ch`);
    const record = parse(stream, body);
    assert.ok(record.type === "frame" && record.codec === ".mp3");
    assert.deepEqual(record.legacySound, { sampleRateHz: readRateHz, sampleSizeBits: 16, channels });
  }
});

Deno.test("openFlvStream refuses unknown sample entries, mismatched configuration boxes and broken configs", () => {
  const refusal = (track: TrackInfo) => {
    const stream = openFlvStream(track.codec);
    assert.ok("refused" in stream, `${track.codec.sampleEntry.fourcc} should be refused`);
    return stream.refused;
  };
  assert.match(refusal(audioTrack("fLaC", "dfLa", bin("00"), 48000)), /"fLaC"/);
  assert.match(refusal(audioTrack("mp4a", "esds", bin("00000000"), 48000)), /esds/);
  assert.match(refusal(audioTrack("Opus", "dOps", bin("00 02 0138"), 48000)), /dOps: 4 bytes/);
  assert.match(
    refusal(audioTrack("Opus", "dOps", bin("00 06 0138 0000bb80 0000 01 04"), 48000, 6)),
    /ChannelMappingFamily 1/,
  );
  const ac3 = audioTrack("mp4a", "esds", mp3EsdsBody({ objectTypeIndication: 0xa5 }), 48000);
  assert.match(refusal(ac3), /objectTypeIndication 0xa5/);
  assert.match(
    refusal({
      ...AVC_TRACK,
      codec: { ...AVC_TRACK.codec, sampleEntry: { fourcc: "avc1", config: { fourcc: "hvcC", body: HVCC } } },
    }),
    /not avcC/,
  );
});
