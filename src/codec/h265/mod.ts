/** Public API of the H.265 codec folder: the codec table row, the RTP packetizer for tests and benchmarks, types. */

export { h265 } from "./row.ts";
export { H265Depacketizer, type H265DepacketizerOptions, type H265DepacketizerStats } from "./depacketizer.ts";
export {
  type H265FramePacketOptions,
  type H265PacketizerOptions,
  packetizeH265,
  packetizeH265Frame,
} from "./packetizer.ts";
