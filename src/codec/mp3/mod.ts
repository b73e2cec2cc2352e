/** Public API of the MP3 folder: Layer III frame headers, stream splitting and the `esds` body of an MP3 track. */

export {
  MP3_HEADER_BYTES,
  mp3EsdsBody,
  type Mp3Frame,
  type Mp3FrameHeader,
  parseMp3FrameHeader,
  splitMp3,
} from "./frame_header.ts";
