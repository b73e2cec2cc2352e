import assert from "node:assert/strict";
import { aacEsdsBody, avcDecoderConfigurationRecord, mp3EsdsBody, parseAdtsHeader } from "../../codec/mod.ts";
import { bin, toHex } from "../../shared/testing.ts";
import type { Sample, TrackCodec } from "../track.ts";
import { openTsStream, type TsStream } from "./streams.ts";
import { annexBUnits, H264_TRACK, mp4aTrack, PPS, SPS } from "./testing.ts";

function open(codec: TrackCodec): TsStream {
  const stream = openTsStream(codec);
  assert.ok(!("refused" in stream), JSON.stringify(stream));
  return stream;
}

function sample(data: Uint8Array, isSync: boolean): Sample {
  return { durationTicks: 3000, ctsOffsetTicks: 0, isSync, data };
}

function video(fourcc: string, configFourcc: string, body: Uint8Array): TrackCodec {
  return { kind: "video", sampleEntry: { fourcc, config: { fourcc: configFourcc, body } }, widthPx: 64, heightPx: 64 };
}

Deno.test("H.264 samples keep their own AUD and parameter sets and get none twice", () => {
  const stream = open(H264_TRACK.codec);
  assert.deepEqual([stream.kind, stream.streamType, stream.streamId], ["video", 0x1b, 0xe0]);
  const own = bin("00000002 0910 0000000d 6742c01fda014016e806d0a135 00000004 68ce06e2 00000003 658800");
  const units = annexBUnits(stream.payload(sample(own, true))!).map(toHex);
  assert.deepEqual(units, ["0910", toHex(SPS), toHex(PPS), "658800"]);
});

Deno.test("H.264 samples with 2-byte NAL unit lengths (lengthSizeMinusOne 1) convert too", () => {
  const avcC = avcDecoderConfigurationRecord([SPS], [PPS]);
  avcC[4] = 0xfc | 1;
  const stream = open(video("avc1", "avcC", avcC));
  const units = annexBUnits(stream.payload(sample(bin("0003 658800 0002 0601"), true))!).map(toHex);
  assert.deepEqual(units, ["09f0", toHex(SPS), toHex(PPS), "658800", "0601"]);
  assert.equal(stream.payload(sample(bin("0003 6588"), false)), null, "a torn length is no payload");
});

/** An hvcC laid out by hand (ISO/IEC 14496-15 §8.3.3.1.2): 4-byte lengths, one VPS, SPS and PPS. */
const VPS = bin("40 01 0c01");
const HEVC_SPS = bin("42 01 0101");
const HEVC_PPS = bin("44 01 c172");
const HVCC = bin(
  "01 01 60000000 000000000000 5d f000 fc fd f8 f8 0000 0f 03" +
    "a0 0001 0004 40010c01  a1 0001 0004 42010101  a2 0001 0004 4401c172",
);

const HVCC_WITHOUT_PPS = bin(
  "01 01 60000000 000000000000 5d f000 fc fd f8 f8 0000 0f 02 a0 0001 0004 40010c01  a1 0001 0004 42010101",
);

Deno.test("H.265 samples get an AUD with their TemporalId and, at keyframes, the hvcC's VPS, SPS and PPS", () => {
  const stream = open(video("hvc1", "hvcC", HVCC));
  assert.deepEqual([stream.kind, stream.streamType], ["video", 0x24]);
  // IDR_W_RADL (type 19), TemporalId 0
  const keyframe = annexBUnits(stream.payload(sample(bin("00000003 2601af"), true))!).map(toHex);
  assert.deepEqual(keyframe, ["460150", toHex(VPS), toHex(HEVC_SPS), toHex(HEVC_PPS), "2601af"]);
  // TRAIL_N (type 0) in temporal layer 2: nuh_temporal_id_plus1 3
  const sub = annexBUnits(stream.payload(sample(bin("00000003 0003af"), false))!).map(toHex);
  assert.deepEqual(sub, ["460350", "0003af"]);
});

Deno.test("HE-AAC is framed in ADTS as its LC core at the core rate", () => {
  const stream = open(mp4aTrack(aacEsdsBody(bin("eb098800")), 48000, 2).codec);
  assert.deepEqual([stream.kind, stream.streamType, stream.streamId], ["audio", 0x0f, 0xc0]);
  const framed = stream.payload(sample(bin("010203"), true))!;
  const header = parseAdtsHeader(framed);
  assert.ok(header.ok);
  assert.deepEqual(
    [header.value.objectType, header.value.sampleRateHz, header.value.channelConfiguration, header.value.frameBytes],
    [2, 24000, 1, 10],
  );
  assert.equal(toHex(framed.subarray(7)), "010203");
  assert.equal(stream.payload(sample(new Uint8Array(8185), true)), null, "too large for ADTS");
});

Deno.test("MP3 goes as it is, as MPEG-1 or MPEG-2 audio by its object type", () => {
  const mpeg1 = open(mp4aTrack(mp3EsdsBody({ objectTypeIndication: 0x6b }), 44100, 2).codec);
  const mpeg2 = open(mp4aTrack(mp3EsdsBody({ objectTypeIndication: 0x69 }), 22050, 1).codec);
  assert.deepEqual([mpeg1.streamType, mpeg2.streamType], [0x03, 0x04]);
  const frame = bin("fff340c0 0000");
  assert.equal(mpeg2.payload(sample(frame, true)), frame);
});

Deno.test("openTsStream refuses what it cannot carry, saying why", () => {
  const cases: [TrackCodec, RegExp][] = [
    [video("avc1", "avcC", bin("01 42c01f ff e1 0010 6742")), /invalid avcC: truncated/],
    [video("avc1", "avcC", bin("01 42c01f ff e0 00")), /0 SPS and 0 PPS/],
    [video("avc1", "hvcC", HVCC), /has "hvcC", not avcC/],
    [video("hvc1", "hvcC", HVCC.subarray(0, HVCC.length - 1)), /invalid hvcC: truncated/],
    [video("hvc1", "hvcC", HVCC_WITHOUT_PPS), /invalid hvcC: 1\/1\/0 VPS\/SPS\/PPS/],
    [video("av01", "av1C", bin("81000c00")), /no MPEG-TS stream type for sample entry "av01" \(carried: avc1, hvc1/],
    [{ ...mp4aTrack(aacEsdsBody(bin("1190")), 48000, 2).codec, kind: "video" } as unknown as TrackCodec, /not video/],
    [mp4aTrack(bin("00000000 03 12 0000 00 04 0d 40 15 000000 00000000 00000000"), 48000, 2).codec, /without an/],
    [mp4aTrack(aacEsdsBody(bin("f94640")), 48000, 2).codec, /audioObjectType 42/],
  ];
  for (const [codec, reason] of cases) {
    const stream = openTsStream(codec);
    assert.ok("refused" in stream, reason.source);
    assert.match(stream.refused, reason);
  }
});
