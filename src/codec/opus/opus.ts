/**
 * Opus helpers for MP4 muxing: the `dOps` box payload (Opus in ISO BMFF §4.3.2) and packet durations from the TOC
 * byte (RFC 6716 §3.1). Nothing here decodes audio; only mapping family 0 (mono or stereo) is supported.
 */

import { BadRequestError } from "../../shared/errors.ts";

/** Fields of the OpusSpecificBox; `outputGain` is Q7.8 dB, `inputSampleRate` Hz (informational only). */
export interface OpusConfig {
  /** OutputChannelCount: 1 or 2 for channel mapping family 0. */
  channels: number;
  /** PreSkip: samples at 48 kHz to discard from the decoder output at the start. */
  preSkip: number;
  /** InputSampleRate in Hz of the original audio (not the decoding rate, which is always 48 kHz). */
  inputSampleRate: number;
  /** OutputGain in Q7.8 dB to apply on decoding; 0 by default. */
  outputGain?: number;
}

/** OpusSpecificBox payload, without the box header ("Encapsulation of Opus in ISO BMFF" §4.3.2); big-endian. */
export function dOpsPayload({ channels, preSkip, inputSampleRate, outputGain = 0 }: OpusConfig): Uint8Array {
  checkInteger("channels", channels, 1, 2);
  checkInteger("preSkip", preSkip, 0, 0xffff);
  checkInteger("inputSampleRate", inputSampleRate, 0, 0xffffffff);
  checkInteger("outputGain", outputGain, -0x8000, 0x7fff);
  const out = new Uint8Array(11);
  const view = new DataView(out.buffer);
  view.setUint8(0, 0); // Version
  view.setUint8(1, channels); // OutputChannelCount
  view.setUint16(2, preSkip); // PreSkip
  view.setUint32(4, inputSampleRate); // InputSampleRate
  view.setInt16(8, outputGain); // OutputGain
  view.setUint8(10, 0); // ChannelMappingFamily
  return out;
}

/** Samples per frame at 48 kHz for each TOC config 0..31 (RFC 6716 §3.1, Table 2). */
const FRAME_SAMPLES = [
  ...[480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880], // SILK-only NB, MB, WB: 10/20/40/60 ms
  ...[480, 960, 480, 960], // Hybrid SWB, FB: 10/20 ms
  ...[120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960], // CELT-only: 2.5/5/10/20 ms
];

/** Longest audio a packet may hold: 120 ms at 48 kHz (RFC 6716 §3.2.5). */
const MAX_PACKET_SAMPLES = 5760;

/**
 * Duration of an Opus packet in 48 kHz samples from its TOC byte and frame count (RFC 6716 §3.1, §3.2); 0 for an
 * empty packet or one that breaks the framing rules checked here (code 1 odd length, code 2 short length, code 3
 * zero frames or more than 120 ms). VBR frame lengths and padding of code 3 are not validated.
 */
export function opusPacketDurationSamples(packet: Uint8Array): number {
  const toc = packet[0];
  if (toc === undefined) return 0;
  const frameSamples = FRAME_SAMPLES[toc >> 3]!;
  const code = toc & 0x03;
  let frames: number;
  if (code === 0) {
    frames = 1;
  } else if (code === 1) {
    if ((packet.length - 1) % 2 !== 0) return 0;
    frames = 2;
  } else if (code === 2) {
    if (!code2LengthFits(packet)) return 0;
    frames = 2;
  } else {
    const countByte = packet[1];
    if (countByte === undefined) return 0;
    frames = countByte & 0x3f;
  }
  const samples = frames * frameSamples;
  return frames === 0 || samples > MAX_PACKET_SAMPLES ? 0 : samples;
}

/** Code 2: the first frame's 1- or 2-byte length (§3.2.1) must fit in the packet. */
function code2LengthFits(packet: Uint8Array): boolean {
  const first = packet[1];
  if (first === undefined) return false;
  if (first < 252) return first <= packet.length - 2;
  const second = packet[2];
  if (second === undefined) return false;
  return first + 4 * second <= packet.length - 3;
}

function checkInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadRequestError(
      `invalid Opus config: ${name} must be an integer between ${min} and ${max}, got ${value}`,
    );
  }
}
