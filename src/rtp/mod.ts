/**
 * Public API of the RTP layer: the packet codec, sequence and timestamp unwrapping and the reorder buffer. Pure, no
 * I/O, and codec-blind: payload formats (depacketizers) live with their codec in src/codec.
 */

export { parseRtpPacket, type RtpPacket, serializeRtpPacket } from "./packet.ts";
export { SequenceUnwrapper, TimestampUnwrapper } from "./unwrap.ts";
export { ReorderBuffer, type ReorderBufferOptions, type ReorderOutput, type ReorderStats } from "./reorder_buffer.ts";
export { genericNack, type NackOptions, NackRequester } from "./nack.ts";
export { receiverReport, ReceptionStats, type ReportBlock, type SenderInfo, senderReports } from "./receiver_report.ts";
