/**
 * Public API of the FLV writer: SegmentCutter's cuts as one growing FLV file (legacy tags for H.264, AAC and MP3,
 * Enhanced RTMP tags for H.265, AV1, VP9, VP8 and Opus), the codec table it reads, and the scan that finds the whole
 * part of a file torn by a crash. Tag framing, AMF0 and the tag bodies are private to this folder.
 */

export { type FlvTracks, FlvWriter, type FlvWriterOptions, type FlvWriterStats } from "./writer.ts";
export { FLV_CODECS, type FlvCodecRow, type FlvStream, openFlvStream } from "./codecs.ts";
export { flvWholePrefixBytes } from "./tags.ts";
