/** Public API of the VP9 codec folder: the codec table row, the RTP packetizer for tests and the benchmark, types. */

export { vp9, type Vp9Configuration, vp9Configuration } from "./row.ts";
export { Vp9Depacketizer, type Vp9DepacketizerOptions, type Vp9DepacketizerStats } from "./depacketizer.ts";
export { packetizeVp9, type Vp9PacketizerOptions } from "./packetizer.ts";
export {
  parseVp9Descriptor,
  type Vp9Descriptor,
  type Vp9LayerIndices,
  type Vp9PictureGroupEntry,
  type Vp9ScalabilityStructure,
  writeVp9Descriptor,
} from "./descriptor.ts";
export {
  parseVp9FrameHeader,
  type Vp9ColorConfig,
  Vp9ColorSpace,
  type Vp9FrameHeader,
  type Vp9SampleInfo,
  vp9SampleInfo,
} from "./frame_header.ts";
export { buildVp9Superframe, splitVp9Superframe } from "./superframe.ts";
export { type VpCodecConfiguration } from "../vp_config.ts";
