/** Public API of the RTP layer: packet codec, unwrapping, reordering, H.264/Opus (de)packetizers. Pure, no I/O. */

export { parseRtpPacket, type RtpPacket, serializeRtpPacket } from "./packet.ts";
export { SequenceUnwrapper, TimestampUnwrapper } from "./unwrap.ts";
export { ReorderBuffer, type ReorderBufferOptions, type ReorderOutput, type ReorderStats } from "./reorder_buffer.ts";
export {
  type AccessUnit,
  H264Depacketizer,
  type H264DepacketizerOptions,
  type H264DepacketizerStats,
} from "./h264_depacketizer.ts";
export { type OpusAccessUnit, OpusDepacketizer, type OpusDepacketizerStats } from "./opus_depacketizer.ts";
export { type H264PacketizerOptions, packetizeH264 } from "./h264_packetizer.ts";
