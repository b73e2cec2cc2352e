/** Public API of the VP8 codec folder: the codec table row, the RTP packetizer for tests and the benchmark, types. */

export { vp8, type Vp8Configuration, vp8Configuration } from "./row.ts";
export { Vp8Depacketizer, type Vp8DepacketizerOptions, type Vp8DepacketizerStats } from "./depacketizer.ts";
export { packetizeVp8, type Vp8PacketizerOptions } from "./packetizer.ts";
export { isVp8Keyframe, parseVp8FrameHeader, type Vp8FrameHeader } from "./frame_header.ts";
export { type VpCodecConfiguration } from "../vp_config.ts";
