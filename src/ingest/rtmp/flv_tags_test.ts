/**
 * Golden payloads built by hand from Adobe FLV 10.1 Annex E and veovera E-RTMP v1/v2, cut at every byte and fuzzed,
 * then real FLV files written by ffmpeg (legacy AVC, AAC, MP3) checked against ffprobe. The ffmpeg tests are ignored
 * with a message when ffmpeg/ffprobe are missing.
 */

import assert from "node:assert/strict";
import {
  type AudioFourcc,
  type FlvRecord,
  type LegacySoundFormat,
  parseAudioTag,
  parseVideoTag,
  type VideoFourcc,
} from "./flv_tags.ts";
import { bin, concat, randomBytes, randomInt, seededRandom, toHex } from "../../shared/testing.ts";

// ---------------------------------------------------------------------------------------------------------------
// Building blocks

const TIMESTAMP_MS = 1000;

/** Baseline avcC with 4-byte NAL unit lengths (the libx264 stream of avc_config_test.ts). */
const AVCC = bin(
  "01 42c01f ff e1 0019 6742c01fd9005005bb0110000003001000000303c0f1832480 01 0005 68cb83cb20",
);

/** hvcC by hand: Main profile, level 3.1, 4-byte lengths, VPS/SPS/PPS arrays with stand-in NAL units. */
const HVCC = bin(
  "01 01 60000000 900000000000 5d f000 fc fd f8 f8 0000 0f 03" +
    "a0 0001 0004 40010c01  a1 0001 0005 4201010160  a2 0001 0003 4401c0",
);

/** av1C: marker+version, profile 0 level 8, 4:2:0, then a sized sequence header OBU with stand-in payload. */
const AV1C_FIXED = bin("81 08 0c 00");
const AV1C = concat([AV1C_FIXED, bin("0a 0b 000000246fffbf00680210")]);

/** vpcC box body (version 1, flags 0) and the bare VPCodecConfigurationRecord in it: profile 0, level 3.1, 8-bit. */
const VPCC_BODY = bin("01 000000 00 1f 82 01 01 01 0000");
const VPCC_RECORD = VPCC_BODY.subarray(4);
const VP8_VPCC_BODY = bin("01 000000 00 0a 82 02 02 02 0000");

/** OpusHead: version 1, 2 channels, pre-skip 312, 48 kHz, gain 0, mapping family 0 (little-endian fields). */
const OPUS_HEAD = bin("'OpusHead' 01 02 3801 80bb0000 0000 00");

/** AMF0 "colorInfo" and an empty object. */
const COLOR_INFO_AMF = bin("02 0009 'colorInfo' 03 000009");

/** One NAL unit with its 4-byte length. */
function nal(hex: string): Uint8Array {
  const unit = bin(hex);
  return concat([bin(unit.length.toString(16).padStart(8, "0")), unit]);
}

/** UI24 size then the track body, for multitrack messages. */
function sized(...parts: Uint8Array[]): Uint8Array {
  const body = concat(parts);
  return concat([bin(body.length.toString(16).padStart(6, "0")), body]);
}

function config(kind: "video", codec: VideoFourcc, bytes: Uint8Array, trackId?: number): FlvRecord;
function config(kind: "audio", codec: AudioFourcc, bytes: Uint8Array, trackId?: number): FlvRecord;
function config(kind: "video" | "audio", codec: string, bytes: Uint8Array, trackId = 0): FlvRecord {
  return { kind, codec, trackId, type: "config", config: bytes } as FlvRecord;
}

interface FrameFields {
  keyframe?: boolean;
  ctsOffsetMs?: number;
  trackId?: number;
  timestampOffsetNs?: number;
  dtsMs?: number;
}

function videoFrame(codec: VideoFourcc, data: Uint8Array, fields: FrameFields = {}): FlvRecord {
  return {
    kind: "video",
    codec,
    trackId: fields.trackId ?? 0,
    type: "frame",
    dtsMs: fields.dtsMs ?? TIMESTAMP_MS,
    ctsOffsetMs: fields.ctsOffsetMs ?? 0,
    timestampOffsetNs: fields.timestampOffsetNs ?? 0,
    keyframe: fields.keyframe ?? true,
    data,
  };
}

function audioFrame(codec: AudioFourcc, data: Uint8Array, fields: FrameFields = {}, legacySound?: LegacySoundFormat) {
  const record: FlvRecord = {
    kind: "audio",
    codec,
    trackId: fields.trackId ?? 0,
    type: "frame",
    dtsMs: fields.dtsMs ?? TIMESTAMP_MS,
    ctsOffsetMs: 0,
    timestampOffsetNs: fields.timestampOffsetNs ?? 0,
    keyframe: true,
    data,
  };
  return legacySound === undefined ? record : { ...record, legacySound };
}

/** An expected ignored record, its reason matched by a pattern. */
interface IgnoredPattern {
  type: "ignored";
  kind: "video" | "audio";
  reason: RegExp;
}

function ignored(kind: "video" | "audio", reason: RegExp): IgnoredPattern {
  return { type: "ignored", kind, reason };
}

type Expected = FlvRecord | IgnoredPattern;

function assertRecords(actual: FlvRecord[], expected: readonly Expected[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${JSON.stringify(actual.map((r) => r.type))}`);
  expected.forEach((want, i) => {
    const got = actual[i];
    if (want.type === "ignored" && want.reason instanceof RegExp) {
      assert.ok(got?.type === "ignored", `${what}: record ${i} is ${JSON.stringify(got)}`);
      assert.equal(got.kind, want.kind);
      assert.match(got.reason, want.reason);
    } else {
      assert.deepEqual(got, want, `${what}: record ${i}`);
    }
  });
}

function parse(kind: "video" | "audio", payload: Uint8Array, timestampMs = TIMESTAMP_MS): FlvRecord[] {
  return kind === "video" ? parseVideoTag(payload, timestampMs) : parseAudioTag(payload, timestampMs);
}

// ---------------------------------------------------------------------------------------------------------------
// Golden payloads

interface Golden {
  name: string;
  kind: "video" | "audio";
  payload: Uint8Array;
  expected: Expected[];
  /** Bytes from here on are opaque: any cut after this offset still parses, with shorter data. */
  opaqueFrom?: number;
  /** Cut lengths that still parse because they end on a NAL unit, OBU or track boundary. */
  validAt?: number[];
}

const AVC_SEI = nal("0605ff");
const AVC_IDR = nal("65888400");
const HEVC_IDR = nal("2601af");
const HEVC_TRAIL = nal("0201d0");
const AV1_FRAME = bin("1200 3205 1000c0ffee"); // temporal delimiter, sized frame OBU
const AV1_UNSIZED_LAST = bin("3203 aabbcc 30 ddeeff"); // sized frame OBU, then one without obu_size
const MP3_FRAME = bin("fffb9064 0000000000");
/** The tracks of the ManyTracksManyCodecs golden, each FourCC, trackId, UI24 size and body. */
const manyCodecs = [
  concat([bin("'avc1' 00"), sized(bin("000010"), AVC_IDR)]),
  concat([bin("'av01' 01"), sized(AV1_FRAME)]),
  concat([bin("'vvc1' 02"), sized(bin("000000"), nal("0010"))]),
  concat([bin("'xyz1' 03"), sized(bin("0102"))]),
];

const legacyVideo: Golden[] = [
  {
    name: "legacy AVC sequence header",
    kind: "video",
    payload: concat([bin("17 00 000000"), AVCC]),
    expected: [config("video", "avc1", AVCC)],
  },
  {
    name: "legacy AVC key frame with a positive composition time",
    kind: "video",
    payload: concat([bin("17 01 000042"), AVC_SEI, AVC_IDR]),
    expected: [videoFrame("avc1", concat([AVC_SEI, AVC_IDR]), { ctsOffsetMs: 66 })],
    validAt: [5 + AVC_SEI.length],
  },
  {
    name: "legacy AVC inter frame with a negative composition time",
    kind: "video",
    payload: concat([bin("27 01 ffffd8"), nal("419a0204")]),
    expected: [videoFrame("avc1", nal("419a0204"), { keyframe: false, ctsOffsetMs: -40 })],
  },
  {
    name: "legacy AVC generated key frame (FrameType 4) is a keyframe",
    kind: "video",
    payload: concat([bin("47 01 000000"), AVC_IDR]),
    expected: [videoFrame("avc1", AVC_IDR)],
  },
  {
    name: "legacy AVC end of sequence",
    kind: "video",
    payload: bin("17 02 000000"),
    expected: [{ kind: "video", codec: "avc1", trackId: 0, type: "end" }],
  },
  {
    name: "legacy video info/command frame",
    kind: "video",
    payload: bin("57 01"),
    expected: [ignored("video", /command frame \(VideoCommand 1, EndSeek\)/)],
  },
  {
    name: "legacy Sorenson H.263",
    kind: "video",
    payload: bin("22 0000 8402"),
    expected: [ignored("video", /CodecID 2 \(Sorenson H\.263\) is not recorded/)],
    opaqueFrom: 0,
  },
  {
    name: "legacy Screen video",
    kind: "video",
    payload: bin("13 0040"),
    expected: [ignored("video", /CodecID 3 \(Screen video\)/)],
    opaqueFrom: 0,
  },
  {
    name: "legacy On2 VP6",
    kind: "video",
    payload: bin("14 00 0102"),
    expected: [ignored("video", /CodecID 4 \(On2 VP6\)/)],
    opaqueFrom: 0,
  },
  {
    name: "legacy reserved CodecID 9",
    kind: "video",
    payload: bin("19 00"),
    expected: [ignored("video", /reserved legacy video CodecID 9/)],
    opaqueFrom: 0,
  },
  {
    name: "legacy HEVC (non-standard CodecID 12) sequence header",
    kind: "video",
    payload: concat([bin("1c 00 000000"), HVCC]),
    expected: [config("video", "hvc1", HVCC)],
  },
  {
    name: "legacy HEVC (non-standard CodecID 12) inter frame",
    kind: "video",
    payload: concat([bin("2c 01 000021"), HEVC_TRAIL]),
    expected: [videoFrame("hvc1", HEVC_TRAIL, { keyframe: false, ctsOffsetMs: 33 })],
  },
];

const legacyAudio: Golden[] = [
  {
    name: "legacy AAC sequence header",
    kind: "audio",
    payload: bin("af 00 1210"),
    expected: [config("audio", "mp4a", bin("1210"))],
  },
  {
    name: "legacy AAC raw frame",
    kind: "audio",
    payload: bin("af 01 211049900219"),
    expected: [audioFrame("mp4a", bin("211049900219"))],
    opaqueFrom: 2,
  },
  {
    name: "legacy MP3, 44 kHz 16-bit stereo",
    kind: "audio",
    payload: concat([bin("2f"), MP3_FRAME]),
    expected: [audioFrame(".mp3", MP3_FRAME, {}, { sampleRateHz: 44100, sampleSizeBits: 16, channels: 2 })],
    opaqueFrom: 1,
  },
  {
    name: "legacy MP3, 5.5 kHz 8-bit mono",
    kind: "audio",
    payload: concat([bin("20"), MP3_FRAME]),
    expected: [audioFrame(".mp3", MP3_FRAME, {}, { sampleRateHz: 5512, sampleSizeBits: 8, channels: 1 })],
    opaqueFrom: 1,
  },
  {
    name: "legacy MP3 8 kHz (SoundFormat 14)",
    kind: "audio",
    payload: concat([bin("e2"), MP3_FRAME]),
    expected: [audioFrame(".mp3", MP3_FRAME, {}, { sampleRateHz: 8000, sampleSizeBits: 16, channels: 1 })],
    opaqueFrom: 1,
  },
  {
    name: "legacy Speex",
    kind: "audio",
    payload: bin("b2 0011"),
    expected: [ignored("audio", /SoundFormat 11 \(Speex\) is not recorded/)],
    opaqueFrom: 0,
  },
  {
    name: "legacy Linear PCM little endian",
    kind: "audio",
    payload: bin("3f 00110022"),
    expected: [ignored("audio", /SoundFormat 3 \(Linear PCM, little endian\)/)],
    opaqueFrom: 0,
  },
  {
    name: "legacy G.711 mu-law",
    kind: "audio",
    payload: bin("82 7f7f"),
    expected: [ignored("audio", /SoundFormat 8 \(G\.711 mu-law/)],
    opaqueFrom: 0,
  },
  {
    name: "legacy reserved SoundFormat 13",
    kind: "audio",
    payload: bin("d2 00"),
    expected: [ignored("audio", /reserved legacy SoundFormat 13/)],
    opaqueFrom: 0,
  },
];

const enhancedVideo: Golden[] = [
  {
    name: "E-RTMP hvc1 SequenceStart",
    kind: "video",
    payload: concat([bin("90 'hvc1'"), HVCC]),
    expected: [config("video", "hvc1", HVCC)],
  },
  {
    name: "E-RTMP hvc1 CodedFrames key frame with its SI24 composition time",
    kind: "video",
    payload: concat([bin("91 'hvc1' 000021"), HEVC_IDR, HEVC_TRAIL]),
    expected: [videoFrame("hvc1", concat([HEVC_IDR, HEVC_TRAIL]), { ctsOffsetMs: 33 })],
    validAt: [8 + HEVC_IDR.length],
  },
  {
    name: "E-RTMP hvc1 CodedFramesX inter frame: no composition time, offset 0",
    kind: "video",
    payload: concat([bin("a3 'hvc1'"), HEVC_TRAIL]),
    expected: [videoFrame("hvc1", HEVC_TRAIL, { keyframe: false })],
  },
  {
    name: "E-RTMP avc1 SequenceStart",
    kind: "video",
    payload: concat([bin("90 'avc1'"), AVCC]),
    expected: [config("video", "avc1", AVCC)],
  },
  {
    name: "E-RTMP avc1 CodedFrames inter frame with a negative composition time",
    kind: "video",
    payload: concat([bin("a1 'avc1' fffff6"), nal("419a")]),
    expected: [videoFrame("avc1", nal("419a"), { keyframe: false, ctsOffsetMs: -10 })],
  },
  {
    name: "E-RTMP av01 SequenceStart: av1C with a sequence header OBU",
    kind: "video",
    payload: concat([bin("90 'av01'"), AV1C]),
    expected: [config("video", "av01", AV1C)],
    validAt: [5 + AV1C_FIXED.length], // configOBUs are optional
  },
  {
    name: "E-RTMP av01 CodedFrames: OBUs without a composition time",
    kind: "video",
    payload: concat([bin("91 'av01'"), AV1_FRAME]),
    expected: [videoFrame("av01", AV1_FRAME)],
    validAt: [7], // the temporal delimiter alone is well framed
  },
  {
    name: "E-RTMP av01 CodedFrames whose last OBU has no obu_size",
    kind: "video",
    payload: concat([bin("a1 'av01'"), AV1_UNSIZED_LAST]),
    expected: [videoFrame("av01", AV1_UNSIZED_LAST, { keyframe: false })],
    opaqueFrom: 9,
  },
  {
    name: "E-RTMP vp09 SequenceStart with a vpcC box body (as ffmpeg sends)",
    kind: "video",
    payload: concat([bin("90 'vp09'"), VPCC_BODY]),
    expected: [config("video", "vp09", VPCC_BODY)],
  },
  {
    name: "E-RTMP vp09 SequenceStart with a bare VPCodecConfigurationRecord: version and flags prepended",
    kind: "video",
    payload: concat([bin("90 'vp09'"), VPCC_RECORD]),
    expected: [config("video", "vp09", VPCC_BODY)],
  },
  {
    name: "E-RTMP vp09 CodedFrames",
    kind: "video",
    payload: bin("91 'vp09' 824983420098"),
    expected: [videoFrame("vp09", bin("824983420098"))],
    opaqueFrom: 5,
  },
  {
    name: "E-RTMP v2 vp08 SequenceStart",
    kind: "video",
    payload: concat([bin("90 'vp08'"), VP8_VPCC_BODY]),
    expected: [config("video", "vp08", VP8_VPCC_BODY)],
  },
  {
    name: "E-RTMP v2 vp08 CodedFrames inter frame",
    kind: "video",
    payload: bin("a1 'vp08' 31020000"),
    expected: [videoFrame("vp08", bin("31020000"), { keyframe: false })],
    opaqueFrom: 5,
  },
  {
    name: "E-RTMP SequenceEnd",
    kind: "video",
    payload: bin("92 'hvc1'"),
    expected: [{ kind: "video", codec: "hvc1", trackId: 0, type: "end" }],
  },
  {
    name: "E-RTMP Metadata: the AMF bytes as sent",
    kind: "video",
    payload: concat([bin("94 'hvc1'"), COLOR_INFO_AMF]),
    expected: [{ kind: "video", codec: "hvc1", trackId: 0, type: "metadata", amf: COLOR_INFO_AMF }],
    opaqueFrom: 5,
  },
  {
    name: "E-RTMP Metadata ignores a Command FrameType",
    kind: "video",
    payload: concat([bin("d4 'av01'"), COLOR_INFO_AMF]),
    expected: [{ kind: "video", codec: "av01", trackId: 0, type: "metadata", amf: COLOR_INFO_AMF }],
    opaqueFrom: 5,
  },
  {
    name: "E-RTMP MPEG2TSSequenceStart",
    kind: "video",
    payload: bin("95 'av01' 80 04 0000 0000"),
    expected: [ignored("video", /MPEG2TSSequenceStart \(av01\) is not used/)],
    opaqueFrom: 4,
  },
  {
    name: "E-RTMP command frame",
    kind: "video",
    payload: bin("d0 00"),
    expected: [ignored("video", /command frame \(VideoCommand 0, StartSeek\)/)],
  },
  {
    name: "E-RTMP vvc1 is not recorded",
    kind: "video",
    payload: concat([bin("91 'vvc1' 000000"), nal("0010")]),
    expected: [ignored("video", /VVC \(vvc1\) video is not recorded/)],
    opaqueFrom: 4,
  },
  {
    name: "E-RTMP unknown FourCC",
    kind: "video",
    payload: bin("91 'xyz1' 0102"),
    expected: [ignored("video", /unknown video FourCC "xyz1"/)],
    opaqueFrom: 4,
  },
  {
    name: "E-RTMP reserved VideoPacketType 8",
    kind: "video",
    payload: bin("98 'avc1'"),
    expected: [ignored("video", /reserved VideoPacketType 8/)],
    opaqueFrom: 0,
  },
  {
    name: "E-RTMP v2 ModEx TimestampOffsetNano before avc1 CodedFrames",
    kind: "video",
    payload: concat([bin("97 02 0f423f 01 'avc1' 000000"), AVC_IDR]),
    expected: [videoFrame("avc1", AVC_IDR, { timestampOffsetNs: 999_999 })],
  },
  {
    name: "E-RTMP v2 ModEx with a 16-bit size and an unknown type is skipped",
    kind: "video",
    payload: concat([bin("97 ff 0100"), new Uint8Array(257), bin("53 'hvc1'"), HEVC_TRAIL]),
    expected: [videoFrame("hvc1", HEVC_TRAIL)],
  },
  {
    name: "E-RTMP v2 Multitrack OneTrack",
    kind: "video",
    payload: concat([bin("96 01 'avc1' 02 000010"), AVC_IDR]),
    expected: [videoFrame("avc1", AVC_IDR, { trackId: 2, ctsOffsetMs: 16 })],
  },
  {
    name: "E-RTMP v2 Multitrack ManyTracks SequenceStart",
    kind: "video",
    payload: concat([bin("96 10 'avc1' 00"), sized(AVCC), bin("01"), sized(AVCC)]),
    expected: [config("video", "avc1", AVCC, 0), config("video", "avc1", AVCC, 1)],
    validAt: [6 + 1 + 3 + AVCC.length],
  },
  {
    name: "E-RTMP v2 Multitrack ManyTracks CodedFrames",
    kind: "video",
    payload: concat([
      bin("a6 11 'hvc1' 00"),
      sized(bin("000021"), HEVC_TRAIL),
      bin("07"),
      sized(bin("fffff0"), HEVC_TRAIL),
    ]),
    expected: [
      videoFrame("hvc1", HEVC_TRAIL, { keyframe: false, ctsOffsetMs: 33 }),
      videoFrame("hvc1", HEVC_TRAIL, { keyframe: false, ctsOffsetMs: -16, trackId: 7 }),
    ],
    validAt: [6 + 1 + 3 + 3 + HEVC_TRAIL.length],
  },
  {
    name: "E-RTMP v2 Multitrack ManyTracksManyCodecs, unrecorded and unknown codecs ignored per track",
    kind: "video",
    payload: concat([bin("96 21"), ...manyCodecs]),
    expected: [
      videoFrame("avc1", AVC_IDR, { ctsOffsetMs: 16 }),
      videoFrame("av01", AV1_FRAME, { trackId: 1 }),
      ignored("video", /^track 2: VVC \(vvc1\) video is not recorded/),
      ignored("video", /^track 3: unknown video FourCC "xyz1"/),
    ],
    validAt: [1, 2, 3].map((tracks) => concat([bin("96 21"), ...manyCodecs.slice(0, tracks)]).length),
  },
  {
    name: "E-RTMP v2 ModEx then Multitrack",
    kind: "video",
    payload: concat([bin("97 02 000064 06 01 'avc1' 05 000000"), AVC_IDR]),
    expected: [videoFrame("avc1", AVC_IDR, { trackId: 5, timestampOffsetNs: 100 })],
  },
];

const enhancedAudio: Golden[] = [
  {
    name: "E-RTMP Opus SequenceStart",
    kind: "audio",
    payload: concat([bin("90 'Opus'"), OPUS_HEAD]),
    expected: [config("audio", "Opus", OPUS_HEAD)],
    validAt: [5], // an empty Opus SequenceStart is allowed: mono/stereo defaults
  },
  {
    name: "E-RTMP Opus CodedFrames",
    kind: "audio",
    payload: bin("91 'Opus' fcfffe"),
    expected: [audioFrame("Opus", bin("fcfffe"))],
    opaqueFrom: 5,
  },
  {
    name: "E-RTMP mp4a SequenceStart",
    kind: "audio",
    payload: bin("90 'mp4a' 1190"),
    expected: [config("audio", "mp4a", bin("1190"))],
  },
  {
    name: "E-RTMP mp4a CodedFrames",
    kind: "audio",
    payload: bin("91 'mp4a' 211049900219"),
    expected: [audioFrame("mp4a", bin("211049900219"))],
    opaqueFrom: 5,
  },
  {
    name: "E-RTMP .mp3 CodedFrames carry no legacy sound bits",
    kind: "audio",
    payload: concat([bin("91 '.mp3'"), MP3_FRAME]),
    expected: [audioFrame(".mp3", MP3_FRAME)],
    opaqueFrom: 5,
  },
  {
    name: "E-RTMP .mp3 SequenceStart is ignored",
    kind: "audio",
    payload: bin("90 '.mp3' 00"),
    expected: [ignored("audio", /\.mp3 has no SequenceStart/)],
    opaqueFrom: 4,
  },
  {
    name: "E-RTMP audio SequenceEnd",
    kind: "audio",
    payload: bin("92 'Opus'"),
    expected: [{ kind: "audio", codec: "Opus", trackId: 0, type: "end" }],
  },
  {
    name: "E-RTMP MultichannelConfig, custom order",
    kind: "audio",
    payload: bin("94 'Opus' 02 03 00 01 02"),
    expected: [{
      kind: "audio",
      codec: "Opus",
      trackId: 0,
      type: "multichannel",
      channelOrder: "custom",
      channelCount: 3,
      channelMapping: [0, 1, 2],
      channelFlags: 0,
    }],
  },
  {
    name: "E-RTMP MultichannelConfig, native order (5.1)",
    kind: "audio",
    payload: bin("94 'mp4a' 01 06 0000003f"),
    expected: [{
      kind: "audio",
      codec: "mp4a",
      trackId: 0,
      type: "multichannel",
      channelOrder: "native",
      channelCount: 6,
      channelMapping: [],
      channelFlags: 0x3f,
    }],
  },
  {
    name: "E-RTMP MultichannelConfig, unspecified order",
    kind: "audio",
    payload: bin("94 'Opus' 00 02"),
    expected: [{
      kind: "audio",
      codec: "Opus",
      trackId: 0,
      type: "multichannel",
      channelOrder: "unspecified",
      channelCount: 2,
      channelMapping: [],
      channelFlags: 0,
    }],
  },
  {
    name: "E-RTMP FLAC, AC-3 and E-AC-3 are not recorded",
    kind: "audio",
    payload: bin("91 'fLaC' fff8"),
    expected: [ignored("audio", /FLAC \(fLaC\) audio is not recorded/)],
    opaqueFrom: 4,
  },
  {
    name: "E-RTMP AC-3 is not recorded",
    kind: "audio",
    payload: bin("91 'ac-3' 0b77"),
    expected: [ignored("audio", /AC-3 \(ac-3\) audio is not recorded/)],
    opaqueFrom: 4,
  },
  {
    name: "E-RTMP E-AC-3 is not recorded",
    kind: "audio",
    payload: bin("91 'ec-3' 0b77"),
    expected: [ignored("audio", /E-AC-3 \(ec-3\) audio is not recorded/)],
    opaqueFrom: 4,
  },
  {
    name: "E-RTMP reserved AudioPacketType 3",
    kind: "audio",
    payload: bin("93 'Opus'"),
    expected: [ignored("audio", /reserved AudioPacketType 3/)],
    opaqueFrom: 0,
  },
  {
    name: "E-RTMP v2 audio ModEx TimestampOffsetNano",
    kind: "audio",
    payload: bin("97 02 000064 01 'Opus' fcfffe"),
    expected: [audioFrame("Opus", bin("fcfffe"), { timestampOffsetNs: 100 })],
    opaqueFrom: 10,
  },
  {
    name: "E-RTMP v2 audio Multitrack ManyTracks CodedFrames",
    kind: "audio",
    payload: bin("95 11 'Opus' 00 000003 fcfffe 01 000002 fc01"),
    expected: [audioFrame("Opus", bin("fcfffe")), audioFrame("Opus", bin("fc01"), { trackId: 1 })],
    validAt: [13],
  },
  {
    name: "E-RTMP v2 audio Multitrack OneTrack",
    kind: "audio",
    payload: bin("95 01 'mp4a' 03 2110"),
    expected: [audioFrame("mp4a", bin("2110"), { trackId: 3 })],
    opaqueFrom: 7,
  },
  {
    name: "E-RTMP v2 audio Multitrack ManyTracksManyCodecs SequenceStart",
    kind: "audio",
    payload: concat([
      bin("95 20 'Opus' 00"),
      sized(OPUS_HEAD),
      bin("'mp4a' 01"),
      sized(bin("1190")),
      bin("'fLaC' 02"),
      sized(bin("'fLaC'")),
    ]),
    expected: [
      config("audio", "Opus", OPUS_HEAD, 0),
      config("audio", "mp4a", bin("1190"), 1),
      ignored("audio", /^track 2: FLAC \(fLaC\) audio is not recorded/),
    ],
    validAt: [2 + 5 + 3 + OPUS_HEAD.length, 2 + 5 + 3 + OPUS_HEAD.length + 5 + 3 + 2],
  },
];

const GOLDEN = [...legacyVideo, ...legacyAudio, ...enhancedVideo, ...enhancedAudio];

for (const golden of GOLDEN) {
  Deno.test(`parse${golden.kind === "video" ? "Video" : "Audio"}Tag reads ${golden.name}`, () => {
    assertRecords(parse(golden.kind, golden.payload), golden.expected, toHex(golden.payload));
  });
}

Deno.test("parse*Tag returns errors for every cut of every golden payload short of a boundary", () => {
  for (const golden of GOLDEN) {
    const whole = parse(golden.kind, golden.payload).map((record) => record.type);
    for (let length = 0; length < golden.payload.length; length++) {
      const what = `${golden.name} cut to ${length} bytes`;
      const records = parse(golden.kind, golden.payload.subarray(0, length));
      if (golden.kind === "audio" && length === 0) {
        assertRecords(records, [ignored("audio", /RTMP silence/)], what);
      } else if (golden.opaqueFrom !== undefined && length > golden.opaqueFrom) {
        assert.deepEqual(records.map((record) => record.type), whole, what);
      } else if (golden.validAt?.includes(length)) {
        assert.ok(records.length > 0 && records.every((record) => record.type !== "error"), what);
      } else {
        assert.equal(records.length, 1, what);
        assert.equal(records[0]?.type, "error", `${what}: ${JSON.stringify(records)}`);
      }
    }
  }
});

Deno.test("parse*Tag keeps the 32-bit message timestamp as the decoding time", () => {
  const [record] = parseVideoTag(concat([bin("17 01 000000"), AVC_IDR]), 0xffffffff);
  assert.equal(record?.type === "frame" && record.dtsMs, 0xffffffff);
});

Deno.test("parse*Tag views the payload rather than copying it", () => {
  const payload = concat([bin("17 01 000000"), AVC_IDR]);
  const [record] = parseVideoTag(payload, 0);
  assert.ok(record?.type === "frame");
  assert.equal(record.data.buffer, payload.buffer);
  assert.equal(record.data.byteOffset, 5);
});

// ---------------------------------------------------------------------------------------------------------------
// Malformed and refused payloads

const rejections: { name: string; kind: "video" | "audio"; payload: Uint8Array; type: string; reason: RegExp }[] = [
  { name: "an empty video message", kind: "video", payload: bin(""), type: "error", reason: /VideoTagHeader/ },
  { name: "an empty audio message (silence)", kind: "audio", payload: bin(""), type: "ignored", reason: /silence/ },
  {
    name: "AVCPacketType 3",
    kind: "video",
    payload: concat([bin("17 03 000000"), AVC_IDR]),
    type: "error",
    reason: /AVCPacketType 3 is not 0, 1 or 2/,
  },
  { name: "AACPacketType 2", kind: "audio", payload: bin("af 02 1210"), type: "error", reason: /AACPacketType 2/ },
  {
    name: "an avcC of configurationVersion 0",
    kind: "video",
    payload: concat([bin("17 00 000000 00"), AVCC.subarray(1)]),
    type: "error",
    reason: /configurationVersion 0, not 1/,
  },
  {
    name: "an avcC with 2-byte NAL unit lengths",
    kind: "video",
    payload: concat([bin("17 00 000000"), AVCC.subarray(0, 4), bin("fd"), AVCC.subarray(5)]),
    type: "ignored",
    reason: /uses 2-byte NAL unit lengths; only 4-byte lengths are supported/,
  },
  {
    name: "an hvcC of configurationVersion 0",
    kind: "video",
    payload: concat([bin("90 'hvc1' 00"), HVCC.subarray(1)]),
    type: "error",
    reason: /HEVCDecoderConfigurationRecord configurationVersion 0/,
  },
  {
    name: "a NAL unit length past the end",
    kind: "video",
    payload: bin("17 01 000000 00000009 6588"),
    type: "error",
    reason: /avc1 frame: NAL unit length 9 at sample byte 0/,
  },
  {
    name: "a zero NAL unit length",
    kind: "video",
    payload: bin("91 'hvc1' 000000 00000000"),
    type: "error",
    reason: /NAL unit length 0/,
  },
  {
    name: "an av1C without its marker bit",
    kind: "video",
    payload: bin("90 'av01' 01 08 0c 00"),
    type: "error",
    reason: /marker and version byte 0x01/,
  },
  {
    name: "an AV1 OBU with obu_forbidden_bit",
    kind: "video",
    payload: bin("91 'av01' 92 00"),
    type: "error",
    reason: /obu_forbidden_bit set at byte 0/,
  },
  {
    name: "a vpcC with bitDepth 9",
    kind: "video",
    payload: bin("90 'vp09' 01000000 00 1f 92 01 01 01 0000"),
    type: "error",
    reason: /vpcC bitDepth 9/,
  },
  {
    name: "a vpcC with initialization data missing",
    kind: "video",
    payload: bin("90 'vp09' 01000000 00 1f 82 01 01 01 0002"),
    type: "error",
    reason: /vpcC of 12 bytes is neither/,
  },
  {
    name: "an Opus ID header without its magic",
    kind: "audio",
    payload: concat([bin("90 'Opus' 'OpusTags'"), OPUS_HEAD.subarray(8)]),
    type: "error",
    reason: /starts with "OpusTags", not "OpusHead"/,
  },
  {
    name: "an Opus ID header of mapping family 1 without its mapping table",
    kind: "audio",
    payload: bin("90 'Opus' 'OpusHead' 01 06 3801 80bb0000 0000 01 04"),
    type: "error",
    reason: /mapping family 1 of 20 bytes, needs 27/,
  },
  {
    name: "a Multitrack inside a Multitrack",
    kind: "video",
    payload: bin("96 06 'avc1' 00"),
    type: "error",
    reason: /multitrack video message with packet type 6/,
  },
  {
    name: "a ModEx after a Multitrack",
    kind: "audio",
    payload: bin("95 17 'Opus' 00"),
    type: "error",
    reason: /multitrack audio message with packet type 7/,
  },
  {
    name: "a reserved AvMultitrackType",
    kind: "video",
    payload: bin("96 31 'avc1' 00"),
    type: "ignored",
    reason: /reserved AvMultitrackType 3/,
  },
  {
    name: "a track size past the end",
    kind: "audio",
    payload: bin("95 11 'Opus' 00 000004 fcfffe"),
    type: "error",
    reason: /track needs 4 bytes at byte 10, 3 left/,
  },
  {
    name: "a TimestampOffsetNano of 2 bytes",
    kind: "video",
    payload: concat([bin("97 01 0064 01 'avc1' 000000"), AVC_IDR]),
    type: "error",
    reason: /TimestampOffsetNano modExData of 2 bytes, needs 3/,
  },
  {
    name: "a reserved AudioChannelOrder",
    kind: "audio",
    payload: bin("94 'Opus' 03 02"),
    type: "error",
    reason: /reserved AudioChannelOrder 3/,
  },
  {
    name: "bytes after a MultichannelConfig",
    kind: "audio",
    payload: bin("94 'Opus' 00 02 00"),
    type: "error",
    reason: /1 bytes after the MultichannelConfig/,
  },
  {
    name: "an empty AAC frame",
    kind: "audio",
    payload: bin("af 01"),
    type: "error",
    reason: /empty body/,
  },
  {
    name: "a reserved legacy FrameType 0",
    kind: "video",
    payload: concat([bin("07 01 000000"), AVC_IDR]),
    type: "ignored",
    reason: /reserved VideoFrameType 0/,
  },
  {
    name: "a reserved E-RTMP FrameType 6",
    kind: "video",
    payload: concat([bin("e1 'avc1' 000000"), AVC_IDR]),
    type: "ignored",
    reason: /reserved VideoFrameType 6/,
  },
];

for (const rejection of rejections) {
  Deno.test(`parse${rejection.kind === "video" ? "Video" : "Audio"}Tag refuses ${rejection.name}`, () => {
    const records = parse(rejection.kind, rejection.payload);
    assert.equal(records.length, 1, JSON.stringify(records));
    const [record] = records;
    assert.ok(record?.type === rejection.type, JSON.stringify(record));
    assert.ok(record.type === "error" || record.type === "ignored");
    assert.match(record.reason, rejection.reason);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Property: no bytes make it throw

const RECORD_TYPES = new Set(["config", "frame", "end", "metadata", "multichannel", "ignored", "error"]);

function assertWellFormed(records: FlvRecord[], what: string): void {
  assert.ok(records.length > 0, what);
  for (const record of records) {
    assert.ok(RECORD_TYPES.has(record.type), what);
    if (record.type === "error") assert.equal(records.length, 1, `${what}: an error comes alone`);
    if (record.type === "frame") assert.ok(record.data.length > 0, what);
  }
}

Deno.test("parse*Tag never throws on random or mutated payloads (seeded)", () => {
  const seed = 0x464c56;
  const random = seededRandom(seed);
  for (let i = 0; i < 5000; i++) {
    let payload: Uint8Array;
    if (i % 2 === 0) {
      payload = randomBytes(random, randomInt(random, 0, 48));
    } else {
      // A golden payload with a few bytes changed, cut or extended, to get past the headers.
      const golden = GOLDEN[randomInt(random, 0, GOLDEN.length - 1)]!;
      const length = Math.max(0, golden.payload.length + randomInt(random, -4, 4));
      payload = new Uint8Array(length);
      payload.set(golden.payload.subarray(0, length));
      for (let flips = randomInt(random, 1, 3); flips > 0 && length > 0; flips--) {
        payload[randomInt(random, 0, length - 1)] = randomInt(random, 0, 255);
      }
    }
    const what = `seed ${seed} iteration ${i}: ${toHex(payload)}`;
    assertWellFormed(parseVideoTag(payload, i), what);
    assertWellFormed(parseAudioTag(payload, i), what);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Real FLV files from ffmpeg, checked against ffprobe

async function run(command: string, args: string[]): Promise<string> {
  const output = await new Deno.Command(command, { args, stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  if (!output.success) throw new Error(`${command} ${args.join(" ")} failed: ${decoder.decode(output.stderr)}`);
  return decoder.decode(output.stdout);
}

async function available(command: string): Promise<boolean> {
  try {
    await run(command, ["-version"]);
    return true;
  } catch {
    return false;
  }
}

const hasFfmpeg = await available("ffmpeg") && await available("ffprobe");
if (!hasFfmpeg) console.warn("IGNORING the FLV file tests of flv_tags_test.ts: ffmpeg/ffprobe not found on PATH");

interface FlvTag {
  tagType: number;
  timestampMs: number;
  body: Uint8Array;
}

/** The tags of an FLV file (FLV 10.1 §E.2, E.3): header, then PreviousTagSize and tag pairs. */
function flvTags(file: Uint8Array): FlvTag[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  assert.equal(String.fromCharCode(...file.subarray(0, 3)), "FLV");
  const tags: FlvTag[] = [];
  let offset = view.getUint32(5) + 4; // DataOffset, then PreviousTagSize0
  while (offset + 11 <= file.length) {
    const tagType = view.getUint8(offset) & 0x1f;
    const sizeBytes = view.getUint32(offset) & 0xffffff;
    const timestampMs = (view.getUint32(offset + 4) >>> 8) + view.getUint8(offset + 7) * 0x1000000;
    const body = file.subarray(offset + 11, offset + 11 + sizeBytes);
    assert.equal(body.length, sizeBytes, `tag at byte ${offset} runs past the end`);
    tags.push({ tagType, timestampMs, body });
    offset += 11 + sizeBytes + 4;
  }
  return tags;
}

interface Packet {
  dtsMs: number;
  ctsOffsetMs: number;
  sizeBytes: number;
  keyframe: boolean;
}

/** ffprobe's packets of the file's video or audio stream, in file order. */
async function ffprobePackets(path: string, stream: "v" | "a"): Promise<Packet[]> {
  const args = ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts,dts,size,flags", "-of", "json"];
  const json = JSON.parse(await run("ffprobe", [...args, path])) as {
    packets: { pts: number; dts: number; size: string; flags: string }[];
  };
  return json.packets.map((p) => ({
    dtsMs: p.dts,
    ctsOffsetMs: p.pts - p.dts,
    sizeBytes: Number(p.size),
    keyframe: p.flags.startsWith("K"),
  }));
}

async function ffprobeStream(path: string, stream: "v" | "a"): Promise<Record<string, string | number>> {
  const args = ["-v", "error", "-count_packets", "-select_streams", stream, "-show_streams", "-of", "json", path];
  const json = JSON.parse(await run("ffprobe", args)) as { streams: Record<string, string | number>[] };
  assert.equal(json.streams.length, 1);
  return json.streams[0]!;
}

/** Every record of every audio and video tag of the FLV file at `path`, with the tag's kind. */
async function parseFlvFile(path: string): Promise<FlvRecord[]> {
  const records: FlvRecord[] = [];
  for (const tag of flvTags(await Deno.readFile(path))) {
    if (tag.tagType === 9) records.push(...parseVideoTag(tag.body, tag.timestampMs));
    if (tag.tagType === 8) records.push(...parseAudioTag(tag.body, tag.timestampMs));
  }
  return records;
}

function framesOf(records: FlvRecord[], kind: "video" | "audio"): Packet[] {
  return records.flatMap((r) =>
    r.type === "frame" && r.kind === kind
      ? [{ dtsMs: r.dtsMs, ctsOffsetMs: r.ctsOffsetMs, sizeBytes: r.data.length, keyframe: r.keyframe }]
      : []
  );
}

/** Checks the frames of `kind` against ffprobe: count, sizes, decoding times, composition offsets, keyframes. */
async function assertFramesMatchFfprobe(path: string, records: FlvRecord[], kind: "video" | "audio") {
  const stream = kind === "video" ? "v" : "a";
  const frames = framesOf(records, kind);
  const packets = await ffprobePackets(path, stream);
  const info = await ffprobeStream(path, stream);
  assert.equal(frames.length, Number(info.nb_read_packets), `${kind} frames vs ffprobe -count_packets`);
  assert.equal(
    frames.filter((frame) => frame.keyframe).length,
    packets.filter((packet) => packet.keyframe).length,
    `${kind} keyframes`,
  );
  assert.deepEqual(frames, packets);
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "liverec_flv_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const FFMPEG = ["-hide_banner", "-loglevel", "error", "-y"];

Deno.test({
  name: "parse*Tag reads ffmpeg's legacy FLV of the test clip (H.264 copied, AAC) as ffprobe does",
  ignore: !hasFfmpeg,
  fn: () =>
    withTempDir(async (dir) => {
      const clip = new URL("../../../tests/fixtures/clip.mp4", import.meta.url).pathname;
      const path = `${dir}/clip.flv`;
      // The clip's Opus cannot go into a legacy FLV: the audio becomes AAC, the H.264 is copied.
      await run("ffmpeg", [...FFMPEG, "-i", clip, "-c:v", "copy", "-c:a", "aac", "-f", "flv", path]);
      const records = await parseFlvFile(path);
      assert.ok(records.every((record) => record.type !== "error" && record.type !== "ignored"));

      const firstVideo = records.find((record) => record.kind === "video");
      const firstAudio = records.find((record) => record.kind === "audio");
      assert.ok(firstVideo?.type === "config" && firstVideo.codec === "avc1");
      assert.ok(firstAudio?.type === "config" && firstAudio.codec === "mp4a");
      assert.equal(records.filter((record) => record.type === "config").length, 2);
      assert.equal(firstVideo.config[0], 1); // configurationVersion
      assert.equal(firstVideo.config.length, Number((await ffprobeStream(path, "v")).extradata_size));
      assert.equal(firstAudio.config.length, Number((await ffprobeStream(path, "a")).extradata_size));

      await assertFramesMatchFfprobe(path, records, "video");
      await assertFramesMatchFfprobe(path, records, "audio");
      assert.ok(records.some((record) => record.type === "end" && record.kind === "video")); // ffmpeg's trailer
    }),
});

Deno.test({
  name: "parse*Tag reads the composition offsets of an x264 FLV with B-frames as ffprobe does",
  ignore: !hasFfmpeg,
  fn: () =>
    withTempDir(async (dir) => {
      const path = `${dir}/bframes.flv`;
      const input = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2"];
      await run("ffmpeg", [...FFMPEG, ...input, "-c:v", "libx264", "-bf", "3", "-g", "30", "-f", "flv", path]);
      const records = await parseFlvFile(path);
      await assertFramesMatchFfprobe(path, records, "video");
      const offsets = framesOf(records, "video").map((frame) => frame.ctsOffsetMs);
      assert.ok(offsets.some((offsetMs) => offsetMs > 0), "the clip has B-frames");
    }),
});

Deno.test({
  name: "parse*Tag reads ffmpeg's legacy FLV with libmp3lame MP3 as ffprobe does",
  ignore: !hasFfmpeg || !(await run("ffmpeg", ["-hide_banner", "-encoders"]).catch(() => "")).includes("libmp3lame"),
  fn: () =>
    withTempDir(async (dir) => {
      const path = `${dir}/mp3.flv`;
      const input = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050", "-t", "2", "-ac", "2"];
      await run("ffmpeg", [...FFMPEG, ...input, "-c:a", "libmp3lame", "-f", "flv", path]);
      const records = await parseFlvFile(path);
      await assertFramesMatchFfprobe(path, records, "audio");
      const info = await ffprobeStream(path, "a");
      for (const record of records) {
        assert.ok(record.type === "frame" && record.codec === ".mp3");
        assert.deepEqual(record.legacySound, {
          sampleRateHz: Number(info.sample_rate),
          sampleSizeBits: 16,
          channels: Number(info.channels),
        });
      }
    }),
});
