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
  FrameAudioCodec,
  FramedAudioFormat,
  SampleEntry,
  VideoCodec,
  VideoFormat,
} from "./codec.ts";
export { AUDIO_CODECS, FRAME_AUDIO_CODECS, FRAME_VIDEO_CODECS, type FrameVideoCodec, VIDEO_CODECS } from "./table.ts";
export {
  readAv1CodecConfigurationRecord,
  readAvcDecoderConfigurationRecord,
  readHevcDecoderConfigurationRecord,
} from "./config_records.ts";
export { splitAnnexB, splitLengthPrefixed, toLengthPrefixed } from "./nal_units.ts";
export { isKeyframe, NalType, nalType, parseSpropParameterSets } from "./h264/nal.ts";
export { avcCodecString, parseSps, type Sps } from "./h264/sps.ts";
export { avcDecoderConfigurationRecord } from "./h264/avc_config.ts";
export { type H264PacketizerOptions, packetizeH264 } from "./h264/packetizer.ts";
export { dOpsPayload, type OpusConfig, opusPacketDurationSamples } from "./opus/opus.ts";
export {
  aacEsdsBody,
  ADTS_MAX_PAYLOAD_BYTES,
  adtsAudioSpecificConfig,
  adtsFraming,
  adtsHeader,
  audioSpecificConfig,
  OTI_MPEG1_AUDIO,
  OTI_MPEG2_AUDIO,
  OTI_MPEG4_AUDIO,
  parseAdtsHeader,
  parseAudioSpecificConfig,
  type Parsed,
  parseEsds,
  splitAdts,
} from "./aac/mod.ts";
export { mp3EsdsBody } from "./mp3/mod.ts";
export { NalType as H265NalType, nalType as h265NalType } from "./h265/nal.ts";
