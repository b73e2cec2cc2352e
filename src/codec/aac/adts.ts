/**
 * ADTS framing of AAC (ISO/IEC 14496-3 §1.A.2.2, as in ISO/IEC 13818-7 §6.2): the 7-byte header MPEG-TS and HLS
 * carry in front of every raw AAC frame, written from an AudioSpecificConfig, and read back (for tests, and for
 * AAC that arrives ADTS-framed). Written headers have no CRC and one raw data block. Frames holding several raw
 * data blocks cannot become MP4 samples without decoding them and are refused when read.
 */

import { assert } from "../../shared/assert.ts";
import { type AacConfig, audioSpecificConfig, SAMPLING_FREQUENCIES_HZ } from "./audio_specific_config.ts";
import type { Parsed } from "./esds.ts";

/** Bytes of an ADTS header without CRC. */
export const ADTS_HEADER_BYTES = 7;
/** The largest raw frame one ADTS frame can hold: aac_frame_length is 13 bits and counts the header. */
export const ADTS_MAX_PAYLOAD_BYTES = 0x1fff - ADTS_HEADER_BYTES;

/** The fixed-header fields ADTS frames of one stream share (ISO/IEC 14496-3 §1.A.3.2.1). */
export interface AdtsFraming {
  /** profile_ObjectType: audioObjectType - 1 (0 Main, 1 LC, 2 SSR, 3 LTP). */
  profile: number;
  samplingFrequencyIndex: number;
  /** channel_configuration 1-7. */
  channelConfiguration: number;
}

/**
 * The ADTS fields for a stream with `config`. HE-AAC (v1 and v2) is framed as its core, as is standard: profile LC
 * and the core's rate and channels; the decoder finds SBR and PS in the frames. Refused: channelConfiguration 0
 * (its program_config_element would have to be in the frames), 960-sample frames and explicit frequencies that
 * are not in the index table (ADTS can express neither).
 */
export function adtsFraming(config: AacConfig): Parsed<AdtsFraming> {
  const fail = (reason: string): Parsed<AdtsFraming> => ({ ok: false, reason: `ADTS cannot carry ${reason}` });
  if (config.coreObjectType < 1 || config.coreObjectType > 4) return fail(`audioObjectType ${config.coreObjectType}`);
  if (config.channelConfiguration < 1 || config.channelConfiguration > 7) {
    return fail(`channelConfiguration ${config.channelConfiguration}`);
  }
  if (config.coreSamplesPerFrame !== 1024) return fail(`${config.coreSamplesPerFrame}-sample frames`);
  const samplingFrequencyIndex = SAMPLING_FREQUENCIES_HZ.indexOf(config.coreSampleRateHz);
  if (samplingFrequencyIndex < 0) return fail(`a sampling rate of ${config.coreSampleRateHz} Hz`);
  return {
    ok: true,
    value: {
      profile: config.coreObjectType - 1,
      samplingFrequencyIndex,
      channelConfiguration: config.channelConfiguration,
    },
  };
}

/** The 7-byte ADTS header (no CRC, one raw data block, VBR) for a raw frame of `payloadBytes` bytes. */
export function adtsHeader(framing: AdtsFraming, payloadBytes: number): Uint8Array {
  assert(payloadBytes >= 0 && payloadBytes <= ADTS_MAX_PAYLOAD_BYTES, `ADTS payload of ${payloadBytes} bytes`);
  const frameBytes = ADTS_HEADER_BYTES + payloadBytes;
  const bufferFullness = 0x7ff; // VBR
  return new Uint8Array([
    0xff, // syncword (12 bits) ...
    0xf1, // ... ID 0 (MPEG-4), layer 00, protection_absent 1
    // profile_ObjectType (2), sampling_frequency_index (4), private_bit 0, channel_configuration (high bit)
    (framing.profile << 6) | (framing.samplingFrequencyIndex << 2) | (framing.channelConfiguration >> 2),
    // channel_configuration (low 2 bits), original_copy 0, home 0, copyright bits 0, aac_frame_length (high 2 bits)
    ((framing.channelConfiguration & 3) << 6) | (frameBytes >> 11),
    (frameBytes >> 3) & 0xff, // aac_frame_length (middle 8 bits)
    ((frameBytes & 7) << 5) | (bufferFullness >> 6), // aac_frame_length (low 3 bits), adts_buffer_fullness (high 5)
    ((bufferFullness & 0x3f) << 2) | 0, // adts_buffer_fullness (low 6 bits), number_of_raw_data_blocks_in_frame 0
  ]);
}

/** An ADTS header as read (ISO/IEC 14496-3 §1.A.2.2.1). */
export interface AdtsHeader {
  /** ID: 4 for MPEG-4 (0), 2 for MPEG-2 (1). */
  mpegVersion: 2 | 4;
  /** audioObjectType: profile_ObjectType + 1. */
  objectType: number;
  samplingFrequencyIndex: number;
  sampleRateHz: number;
  /** channel_configuration; 0 means a program_config_element in the frame. */
  channelConfiguration: number;
  /** protection_absent is 0: a CRC follows the header. */
  hasCrc: boolean;
  /** 7, or 9 with the CRC. */
  headerBytes: number;
  /** aac_frame_length: the whole frame, header included. */
  frameBytes: number;
  /** adts_buffer_fullness; 0x7FF for VBR. */
  bufferFullness: number;
  /** number_of_raw_data_blocks_in_frame + 1. */
  rawDataBlocks: number;
}

/** Reads the ADTS header at `offset`; never throws. */
export function parseAdtsHeader(bytes: Uint8Array, offset = 0): Parsed<AdtsHeader> {
  const fail = (reason: string): Parsed<AdtsHeader> => ({
    ok: false,
    reason: `invalid ADTS header at offset ${offset}: ${reason}`,
  });
  if (offset + ADTS_HEADER_BYTES > bytes.length) return fail(`${bytes.length - offset} bytes left`);
  const b = bytes.subarray(offset, offset + ADTS_HEADER_BYTES);
  const [b0, b1, b2, b3, b4, b5, b6] = [b[0]!, b[1]!, b[2]!, b[3]!, b[4]!, b[5]!, b[6]!];
  if (b0 !== 0xff || (b1 & 0xf0) !== 0xf0) return fail("no syncword");
  if ((b1 & 0x06) !== 0) return fail(`layer ${(b1 >> 1) & 3} is not 0`);
  const hasCrc = (b1 & 0x01) === 0;
  const samplingFrequencyIndex = (b2 >> 2) & 0x0f;
  const sampleRateHz = SAMPLING_FREQUENCIES_HZ[samplingFrequencyIndex];
  if (sampleRateHz === undefined) return fail(`sampling_frequency_index ${samplingFrequencyIndex} is reserved`);
  const headerBytes = hasCrc ? 9 : 7;
  const frameBytes = ((b3 & 0x03) << 11) | (b4 << 3) | (b5 >> 5);
  if (frameBytes < headerBytes) return fail(`aac_frame_length ${frameBytes} is shorter than the header`);
  return {
    ok: true,
    value: {
      mpegVersion: (b1 & 0x08) !== 0 ? 2 : 4,
      objectType: (b2 >> 6) + 1,
      samplingFrequencyIndex,
      sampleRateHz,
      channelConfiguration: ((b2 & 0x01) << 2) | (b3 >> 6),
      hasCrc,
      headerBytes,
      frameBytes,
      bufferFullness: ((b5 & 0x1f) << 6) | (b6 >> 2),
      rawDataBlocks: (b6 & 0x03) + 1,
    },
  };
}

/** One ADTS frame: its header and the raw AAC frame it carries (the MP4 sample), a view into the input. */
export interface AdtsFrame {
  header: AdtsHeader;
  payload: Uint8Array;
}

/**
 * Splits an ADTS stream into frames. Stops at the first bytes that are not a whole single-block ADTS frame and says
 * why in `reason` (absent when the stream ended cleanly); the frames before it are returned.
 */
export function splitAdts(stream: Uint8Array): { frames: AdtsFrame[]; reason?: string } {
  const frames: AdtsFrame[] = [];
  for (let offset = 0; offset < stream.length;) {
    const parsed = parseAdtsHeader(stream, offset);
    if (!parsed.ok) return { frames, reason: parsed.reason };
    const header = parsed.value;
    if (header.rawDataBlocks !== 1) {
      return { frames, reason: `ADTS frame at offset ${offset} holds ${header.rawDataBlocks} raw data blocks` };
    }
    if (offset + header.frameBytes > stream.length) {
      return { frames, reason: `ADTS frame at offset ${offset} is truncated` };
    }
    frames.push({ header, payload: stream.subarray(offset + header.headerBytes, offset + header.frameBytes) });
    offset += header.frameBytes;
  }
  return { frames };
}

/** The AudioSpecificConfig an ADTS header implies, for an `esds` of AAC that arrived ADTS-framed. */
export function adtsAudioSpecificConfig(header: AdtsHeader): Parsed<Uint8Array> {
  if (header.channelConfiguration === 0) {
    return { ok: false, reason: "ADTS channel_configuration 0 (a program_config_element in the frames)" };
  }
  return {
    ok: true,
    value: audioSpecificConfig({
      objectType: header.objectType,
      samplingFrequencyIndex: header.samplingFrequencyIndex,
      channelConfiguration: header.channelConfiguration,
    }),
  };
}
