/**
 * Public API of the MPEG-TS writer: SegmentCutter's cuts as HLS `.ts` segments, the check for tracks it cannot
 * carry, and the codec table it reads. Packets, sections and PES headers are private to this folder.
 */

export {
  mpegTsRefusal,
  TS_TIME_OFFSET_90KHZ,
  type TsSegment,
  TsSegmentWriter,
  type TsTracks,
  type TsWriterStats,
} from "./writer.ts";
export { StreamType, TS_CODECS, type TsCodecRow, type TsStream } from "./streams.ts";
