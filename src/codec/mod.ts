/** Public API of the codec layer: pure H.264 and Opus bitstream helpers. No RTP, no containers, no I/O. */

export { isKeyframe, NalType, nalType, parseSpropParameterSets, splitAnnexB } from "./h264.ts";
export { avcCodecString, parseSps, type Sps } from "./h264_sps.ts";
export { avcDecoderConfigurationRecord } from "./avc_config.ts";
export { dOpsPayload, type OpusConfig, opusPacketDurationSamples } from "./opus.ts";
