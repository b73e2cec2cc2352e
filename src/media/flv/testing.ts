/**
 * Test-only: an FLV file reader written from FLV 10.1 §E.2-E.4 independently of the writer (header, tag headers with
 * the extended timestamp, PreviousTagSize, a minimal AMF0 reader for onMetaData), and the tracks of every codec row
 * the flv tests use. Tag bodies are read by src/ingest/rtmp/flv_tags.ts, the RTMP ingest's parser. Production code
 * never imports it.
 */

import assert from "node:assert/strict";
import { aacEsdsBody, mp3EsdsBody } from "../../codec/mod.ts";
import { bin } from "../../shared/testing.ts";
import { AVCC_720P, DOPS_STEREO } from "../test_helpers.ts";
import type { TrackInfo } from "../track.ts";

/** One tag as read from a file. */
export interface ReadTag {
  /** TagType: 8 audio, 9 video, 18 script data. */
  type: number;
  /** Timestamp with TimestampExtended as its upper 8 bits, in ms. */
  timestampMs: number;
  body: Uint8Array;
  /** Offset of the byte after its PreviousTagSize: the file cut there is whole. */
  end: number;
}

/** What an FLV file holds; the reader checks every size field as it goes and that the file ends on a tag. */
export interface ReadFlv {
  hasAudio: boolean;
  hasVideo: boolean;
  tags: ReadTag[];
}

/** Reads a whole FLV file (asserting its framing). */
export function readFlv(bytes: Uint8Array): ReadFlv {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(String.fromCharCode(...bytes.subarray(0, 3)), "FLV", "signature");
  assert.equal(bytes[3], 1, "version");
  const flags = bytes[4]!;
  assert.equal(flags & 0xfa, 0, "reserved TypeFlags bits");
  const dataOffset = view.getUint32(5);
  assert.equal(dataOffset, 9, "DataOffset");
  assert.equal(view.getUint32(9), 0, "PreviousTagSize0");
  const tags: ReadTag[] = [];
  let at = 13;
  while (at < bytes.length) {
    assert.ok(at + 11 <= bytes.length, `tag header at ${at} cut off`);
    const type = bytes[at]!;
    const size = (bytes[at + 1]! << 16) | view.getUint16(at + 2);
    const timestampMs = ((bytes[at + 7]! << 24) >>> 0) + ((bytes[at + 4]! << 16) | view.getUint16(at + 5));
    assert.equal((bytes[at + 8]! << 16) | view.getUint16(at + 9), 0, "StreamID");
    assert.ok(at + 11 + size + 4 <= bytes.length, `tag at ${at} of ${size} bytes cut off`);
    assert.equal(view.getUint32(at + 11 + size), 11 + size, `PreviousTagSize after the tag at ${at}`);
    tags.push({ type, timestampMs, body: bytes.subarray(at + 11, at + 11 + size), end: at + 11 + size + 4 });
    at += 11 + size + 4;
  }
  return { hasAudio: (flags & 0x04) !== 0, hasVideo: (flags & 0x01) !== 0, tags };
}

/** The name and ECMA array (or object) of a script data tag body (AMF0: numbers, booleans, strings only). */
export function readScriptData(body: Uint8Array): { name: string; properties: Map<string, unknown> } {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  const text = () => {
    const length = view.getUint16(at);
    at += 2 + length;
    return new TextDecoder().decode(body.subarray(at - length, at));
  };
  const value = (): unknown => {
    const marker = body[at++];
    if (marker === 0x00) {
      at += 8;
      return view.getFloat64(at - 8);
    }
    if (marker === 0x01) return body[at++] !== 0;
    if (marker === 0x02) return text();
    throw new Error(`AMF0 marker ${marker} at ${at - 1}`);
  };
  assert.equal(body[at++], 0x02, "the name is a string");
  const name = text();
  const marker = body[at++];
  assert.ok(marker === 0x08 || marker === 0x03, "an ECMA array or object");
  const count = marker === 0x08 ? view.getUint32(at) : -1;
  if (marker === 0x08) at += 4;
  const properties = new Map<string, unknown>();
  for (;;) {
    const key = text();
    if (key === "" && body[at] === 0x09) break;
    properties.set(key, value());
  }
  at++;
  assert.equal(at, body.length, "nothing after the object end");
  if (count >= 0) assert.equal(properties.size, count, "associative-count");
  return { name, properties };
}

/** A video track of `fourcc` with a configuration box. */
export function videoTrack(fourcc: string, configFourcc: string, body: Uint8Array, trackId = 1): TrackInfo {
  return {
    trackId,
    timescale: 90000,
    codec: {
      kind: "video",
      sampleEntry: { fourcc, config: { fourcc: configFourcc, body } },
      widthPx: 1280,
      heightPx: 720,
    },
  };
}

/** An audio track of `fourcc` at `sampleRate` (also its timescale). */
export function audioTrack(
  fourcc: string,
  configFourcc: string,
  body: Uint8Array,
  sampleRate: number,
  channels = 2,
  trackId = 2,
): TrackInfo {
  return {
    trackId,
    timescale: sampleRate,
    codec: { kind: "audio", sampleEntry: { fourcc, config: { fourcc: configFourcc, body } }, channels, sampleRate },
  };
}

/** HEVCDecoderConfigurationRecord: version 1, Main profile fields, 4-byte lengths, one (fake) VPS, SPS and PPS. */
export const HVCC = bin(
  "01 01 60000000 b00000000000 5d f000 fc fd f8 f8 0000 0f" + // fixed fields, lengthSizeMinusOne 3
    "03 a0 0001 0002 4001 a1 0001 0002 4201 a2 0001 0002 4401", // numOfArrays 3: VPS, SPS, PPS
);
/** AV1CodecConfigurationRecord: marker and version, profile 0 level 8, 4:2:0, and a (fake) sequence header OBU. */
export const AV1C = bin("81 08 0c 00 0a 03 000000");
/** vpcC body: FullBox version 1, flags 0, profile 0, level 3.1, 8-bit 4:2:0, BT.709, no initialization data. */
export const VPCC = bin("01 000000 00 1f 80 01 01 01 0000");
/** AudioSpecificConfig of 48 kHz stereo AAC-LC. */
export const ASC_48K_STEREO = bin("1190");

export const AVC_TRACK = videoTrack("avc1", "avcC", AVCC_720P);
export const HEVC_TRACK = videoTrack("hvc1", "hvcC", HVCC);
export const AV1_TRACK = videoTrack("av01", "av1C", AV1C);
export const VP9_TRACK = videoTrack("vp09", "vpcC", VPCC);
export const VP8_TRACK = videoTrack("vp08", "vpcC", VPCC);
export const AAC_TRACK = audioTrack("mp4a", "esds", aacEsdsBody(ASC_48K_STEREO), 48000);
export const MP3_TRACK = audioTrack("mp4a", "esds", mp3EsdsBody({ objectTypeIndication: 0x6b }), 44100);
export const OPUS_TRACK = audioTrack("Opus", "dOps", DOPS_STEREO, 48000);
