/**
 * MP3 frame headers: MPEG-1 (ISO/IEC 11172-3 §2.4.1.3), MPEG-2 lower sampling frequencies (ISO/IEC 13818-3 §2.4.1.3)
 * and the unofficial MPEG-2.5 extension, Layer III only. One MP3 frame, header included, is one MP4 sample (ISO/IEC
 * 14496-3 Subpart 9 is not used: `mp4a` with objectTypeIndication 0x6B or 0x69, no DecoderSpecificInfo). Free-format
 * bit rates (index 0) are refused: their frame length cannot be read from the header. Layers I and II are not MP3.
 */

import { type BitRates, esdsBody, OTI_MPEG1_AUDIO, OTI_MPEG2_AUDIO, type Parsed } from "../aac/esds.ts";

/** Bytes of a frame header, without the optional 16-bit CRC that follows it. */
export const MP3_HEADER_BYTES = 4;

/** Layer III bit rates in kbit/s by bitrate_index 1-14: MPEG-1 (ISO/IEC 11172-3 §2.4.2.3), MPEG-2/2.5 (13818-3). */
const BITRATES_KBPS = {
  mpeg1: [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  mpeg2: [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};

/** sampling_frequency 0-2 in Hz for MPEG-1; MPEG-2 halves and MPEG-2.5 quarters them. */
const MPEG1_SAMPLE_RATES_HZ = [44100, 48000, 32000];

/** mode (ISO/IEC 11172-3 §2.4.2.3). */
const CHANNEL_MODES = ["stereo", "joint_stereo", "dual_channel", "mono"] as const;

/** What an MP3 frame header says. */
export interface Mp3FrameHeader {
  /** MPEG-1, MPEG-2 (lower sampling frequencies) or MPEG-2.5. */
  version: 1 | 2 | 2.5;
  /** protection_bit is 0: a 16-bit CRC follows the header. */
  hasCrc: boolean;
  bitrateKbps: number;
  sampleRateHz: number;
  /** padding_bit: the frame has one extra byte. */
  padding: boolean;
  channelMode: typeof CHANNEL_MODES[number];
  channels: 1 | 2;
  /** The whole frame, header included: 144 (MPEG-1) or 72 (MPEG-2/2.5) × bit rate / sample rate, plus padding. */
  frameBytes: number;
  /** 1152 for MPEG-1, 576 for MPEG-2 and 2.5. */
  samplesPerFrame: number;
  /**
   * objectTypeIndication for an `esds`: 0x6B (ISO/IEC 11172-3) for MPEG-1, 0x69 (ISO/IEC 13818-3) for MPEG-2 and
   * 2.5, as ffmpeg's mp4 muxer writes them. MPEG-2.5 is in no standard (ffmpeg muxes it into MP4 only when forced);
   * 0x69 is the closest truth, and 13818-3 decoders play it.
   */
  objectTypeIndication: number;
  /** RFC 6381 `codecs` string: `mp4a.6B` or `mp4a.69`, the objectTypeIndication in hex. */
  codecs: string;
}

/** Reads the Layer III frame header at `offset`; never throws. */
export function parseMp3FrameHeader(bytes: Uint8Array, offset = 0): Parsed<Mp3FrameHeader> {
  const fail = (reason: string): Parsed<Mp3FrameHeader> => ({
    ok: false,
    reason: `invalid MP3 frame header at offset ${offset}: ${reason}`,
  });
  if (offset + MP3_HEADER_BYTES > bytes.length) return fail(`${bytes.length - offset} bytes left`);
  const [b0, b1, b2, b3] = [bytes[offset]!, bytes[offset + 1]!, bytes[offset + 2]!, bytes[offset + 3]!];
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return fail("no frame sync");
  const versionBits = (b1 >> 3) & 3; // 00 MPEG-2.5, 01 reserved, 10 MPEG-2, 11 MPEG-1
  if (versionBits === 1) return fail("reserved MPEG version");
  const version = versionBits === 3 ? 1 : versionBits === 2 ? 2 : 2.5;
  const layerBits = (b1 >> 1) & 3; // 01 Layer III, 10 Layer II, 11 Layer I
  if (layerBits !== 1) return fail(layerBits === 0 ? "reserved layer" : `layer ${4 - layerBits} is not MP3`);
  const bitrateIndex = b2 >> 4;
  if (bitrateIndex === 0) return fail("free-format bit rate");
  if (bitrateIndex === 15) return fail("bitrate_index 15 is forbidden");
  const rateIndex = (b2 >> 2) & 3;
  if (rateIndex === 3) return fail("reserved sampling_frequency");
  if ((b3 & 3) === 2) return fail("reserved emphasis");
  const bitrateKbps = (version === 1 ? BITRATES_KBPS.mpeg1 : BITRATES_KBPS.mpeg2)[bitrateIndex - 1]!;
  const sampleRateHz = MPEG1_SAMPLE_RATES_HZ[rateIndex]! / (version === 1 ? 1 : version === 2 ? 2 : 4);
  const padding = (b2 & 0x02) !== 0;
  const channelMode = CHANNEL_MODES[b3 >> 6]!;
  const samplesPerFrame = version === 1 ? 1152 : 576;
  const objectTypeIndication = version === 1 ? OTI_MPEG1_AUDIO : OTI_MPEG2_AUDIO;
  return {
    ok: true,
    value: {
      version,
      hasCrc: (b1 & 1) === 0,
      bitrateKbps,
      sampleRateHz,
      padding,
      channelMode,
      channels: channelMode === "mono" ? 1 : 2,
      // Layer III slots are bytes: samplesPerFrame / 8 × bit rate / sample rate (11172-3 §2.4.3.1).
      frameBytes: Math.floor(((samplesPerFrame / 8) * bitrateKbps * 1000) / sampleRateHz) + (padding ? 1 : 0),
      samplesPerFrame,
      objectTypeIndication,
      codecs: `mp4a.${objectTypeIndication.toString(16).toUpperCase()}`,
    },
  };
}

/** One MP3 frame (the MP4 sample, header included) with its parsed header. */
export interface Mp3Frame {
  header: Mp3FrameHeader;
  data: Uint8Array;
}

/**
 * Splits an MP3 byte stream into frames, skipping an ID3v2 tag at its start. Stops at the first bytes that are not a
 * whole frame and says why in `reason` (absent when the stream ended cleanly); the frames before it are returned.
 * A Xing/Info frame, being a valid frame, is returned like any other.
 */
export function splitMp3(stream: Uint8Array): { frames: Mp3Frame[]; reason?: string } {
  const frames: Mp3Frame[] = [];
  let offset = id3v2Bytes(stream);
  while (offset < stream.length) {
    const parsed = parseMp3FrameHeader(stream, offset);
    if (!parsed.ok) return { frames, reason: parsed.reason };
    const end = offset + parsed.value.frameBytes;
    if (end > stream.length) return { frames, reason: `MP3 frame at offset ${offset} is truncated` };
    frames.push({ header: parsed.value, data: stream.subarray(offset, end) });
    offset = end;
  }
  return { frames };
}

/** Length of an ID3v2 tag at the start of `stream` (its 10-byte header, syncsafe size, optional footer), or 0. */
function id3v2Bytes(stream: Uint8Array): number {
  if (stream.length < 10 || stream[0] !== 0x49 || stream[1] !== 0x44 || stream[2] !== 0x33) return 0; // "ID3"
  const size = ((stream[6]! & 0x7f) << 21) | ((stream[7]! & 0x7f) << 14) | ((stream[8]! & 0x7f) << 7) |
    (stream[9]! & 0x7f);
  const hasFooter = (stream[5]! & 0x10) !== 0;
  return Math.min(stream.length, 10 + size + (hasFooter ? 10 : 0));
}

/** The `esds` body of an MP3 track: the header's objectTypeIndication and no DecoderSpecificInfo. */
export function mp3EsdsBody(header: Pick<Mp3FrameHeader, "objectTypeIndication">, rates: BitRates = {}): Uint8Array {
  return esdsBody({
    objectTypeIndication: header.objectTypeIndication,
    bufferSizeBytes: rates.bufferSizeBytes ?? 0,
    maxBitrate: rates.maxBitrate ?? 0,
    avgBitrate: rates.avgBitrate ?? 0,
  });
}
