/**
 * Public API of the AV1 folder: the codec table row, the RTP packetizer for test publishers and the benchmark, and
 * the OBU and sequence header helpers tests need. Everything else in the folder is private.
 */

export { av1 } from "./row.ts";
export { type Av1PacketizerOptions, packetizeAv1 } from "./packetizer.ts";
export { Av1Depacketizer, type Av1DepacketizerOptions } from "./depacketizer.ts";
export { isRandomAccessPoint, type Obu, ObuType, splitObus } from "./obu.ts";
export { av1CodecString, parseSequenceHeader, type SequenceHeader } from "./sequence_header.ts";
export { av1CodecConfigurationRecord } from "./av1_config.ts";
