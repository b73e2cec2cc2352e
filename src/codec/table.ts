/**
 * The codec table: one row per codec liverec records. Everything outside src/codec finds a codec here, by its
 * name or its SDP encoding name, and asks the row; adding a codec is a folder under src/codec and a line here.
 */

import type { AudioCodec, VideoCodec } from "./codec.ts";
import { av1 } from "./av1/mod.ts";
import { h264 } from "./h264/row.ts";
import { h265 } from "./h265/mod.ts";
import { opus } from "./opus/row.ts";
import { vp8 } from "./vp8/mod.ts";
import { vp9 } from "./vp9/mod.ts";

/** Every video codec liverec records, by name. */
export const VIDEO_CODECS: ReadonlyMap<string, VideoCodec> = new Map(
  [h264, h265, vp8, vp9, av1].map((row) => [row.name, row]),
);

/** Every audio codec liverec records, by name. */
export const AUDIO_CODECS: ReadonlyMap<string, AudioCodec> = new Map([opus].map((row) => [row.name, row]));
