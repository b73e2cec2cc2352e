/**
 * Public API of the codec layer: the codec table and its row types, plus the few bitstream helpers tests, the
 * benchmark and the test publishers need. Pure: no containers, no I/O.
 */

export type {
  AudioCodec,
  AudioFormat,
  Codec,
  Depacketizer,
  DepacketizerStats,
  FmtpVerdict,
  Frame,
  SampleEntry,
  VideoCodec,
  VideoFormat,
} from "./codec.ts";
export { AUDIO_CODECS, VIDEO_CODECS } from "./table.ts";
export { splitAnnexB, splitLengthPrefixed, toLengthPrefixed } from "./nal_units.ts";
export { isKeyframe, NalType, nalType, parseSpropParameterSets } from "./h264/nal.ts";
export { avcCodecString, parseSps, type Sps } from "./h264/sps.ts";
export { avcDecoderConfigurationRecord } from "./h264/avc_config.ts";
export { type H264PacketizerOptions, packetizeH264 } from "./h264/packetizer.ts";
export { dOpsPayload, type OpusConfig, opusPacketDurationSamples } from "./opus/opus.ts";
