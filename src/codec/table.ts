/**
 * The codec table: one row per codec liverec records. Everything outside src/codec finds a codec here, by its
 * name or its SDP encoding name, and asks the row; adding a codec is a folder under src/codec and a line here.
 */

import type { AudioCodec, FrameAudioCodec, VideoCodec } from "./codec.ts";
import {
  readAv1CodecConfigurationRecord,
  readAvcDecoderConfigurationRecord,
  readHevcDecoderConfigurationRecord,
} from "./config_records.ts";
import { aac } from "./aac/row.ts";
import { mp3 } from "./mp3/row.ts";
import { av1 } from "./av1/mod.ts";
import { h264 } from "./h264/row.ts";
import { h265 } from "./h265/mod.ts";
import { framedOpus, opus } from "./opus/row.ts";
import { vp8 } from "./vp8/mod.ts";
import { vp9 } from "./vp9/mod.ts";

/** Every video codec liverec records, by name. */
export const VIDEO_CODECS: ReadonlyMap<string, VideoCodec> = new Map(
  [h264, h265, vp8, vp9, av1].map((row) => [row.name, row]),
);

/** Every audio codec liverec records, by name. */
export const AUDIO_CODECS: ReadonlyMap<string, AudioCodec> = new Map([opus].map((row) => [row.name, row]));

/**
 * Every audio codec liverec records from frame-based ingest (RTMP), by its Enhanced RTMP FourCC ("mp4a" for AAC,
 * ".mp3", "Opus"); legacy FLV's AAC and MP3 map to the same rows.
 */
export const FRAME_AUDIO_CODECS: ReadonlyMap<string, FrameAudioCodec> = new Map([
  ["mp4a", aac],
  [".mp3", mp3],
  ["Opus", framedOpus],
]);

/** A video codec as frame-based ingest carries it: the row, and the parameter sets in its configuration record. */
export interface FrameVideoCodec {
  codec: VideoCodec;
  /**
   * The parameter sets (H.264, H.265) or configuration OBUs (AV1) of the decoder configuration record sent before the
   * frames, for the row's `format()`; a reason when the record is broken. VP8 and VP9 carry theirs in every keyframe.
   */
  parameterSets(record: Uint8Array): Uint8Array[] | string;
}

/** A record reader's parameter sets, or its reason. */
function setsOf(read: (record: Uint8Array) => { parameterSets: Uint8Array[] } | string) {
  return (record: Uint8Array): Uint8Array[] | string => {
    const result = read(record);
    return typeof result === "string" ? result : result.parameterSets;
  };
}

/** Every video codec liverec records from frame-based ingest (RTMP), by its Enhanced RTMP FourCC. */
export const FRAME_VIDEO_CODECS: ReadonlyMap<string, FrameVideoCodec> = new Map<string, FrameVideoCodec>([
  ["avc1", { codec: h264, parameterSets: setsOf(readAvcDecoderConfigurationRecord) }],
  ["hvc1", { codec: h265, parameterSets: setsOf(readHevcDecoderConfigurationRecord) }],
  ["av01", { codec: av1, parameterSets: setsOf(readAv1CodecConfigurationRecord) }],
  ["vp09", { codec: vp9, parameterSets: () => [] }],
  ["vp08", { codec: vp8, parameterSets: () => [] }],
]);
