/**
 * MPEG-2 transport stream packets (ISO/IEC 13818-1): 188-byte packets with continuity counters, adaptation fields
 * (stuffing, PCR, random_access_indicator), PSI sections (PAT, PMT with their CRC-32) and PES headers with PTS/DTS.
 * One program, no descriptors, no scrambling, no null packets (the output is variable-rate, as HLS segments are).
 * It knows nothing of codecs or segments: the writer decides what goes where and when.
 */

import { assert } from "../../shared/assert.ts";

/** Bytes of a transport stream packet (ISO/IEC 13818-1 §2.4.3.2). */
export const TS_PACKET_BYTES = 188;
/** sync_byte (§2.4.3.3). */
export const SYNC_BYTE = 0x47;
/** PID of the program association table (§2.4.4.4 Table 2-3). */
export const PAT_PID = 0x0000;
/** PID this writer gives the program map table (as ffmpeg and most HLS packagers do). */
export const PMT_PID = 0x1000;
/** The one program's program_number. */
export const PROGRAM_NUMBER = 1;

/** Timestamps (PTS, DTS, PCR base) count 90 kHz ticks modulo 2^33 (§2.4.3.5, §2.4.3.7). */
export const TIMESTAMP_MODULUS = 2 ** 33;

const PAYLOAD_BYTES = TS_PACKET_BYTES - 4;

/** An elementary stream of the program as the PMT lists it. */
export interface PmtStream {
  /** stream_type (§2.4.4.9 Table 2-34). */
  streamType: number;
  pid: number;
}

/** CRC-32 of PSI sections: polynomial 0x04C11DB7, initial value all ones, no reflection, no final XOR (Annex A). */
export function crc32Mpeg2(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  return crc;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, i) => {
  let crc = i << 24;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  return crc >>> 0;
});

/** A PSI section with section_syntax_indicator 1, version 0, current, section 0 of 0, and its CRC (§2.4.4.10). */
function psiSection(tableId: number, tableIdExtension: number, body: readonly number[]): Uint8Array {
  const sectionLength = 5 + body.length + 4; // from after section_length to the end of the CRC
  const bytes = [
    tableId, // table_id
    0xb0 | (sectionLength >> 8), // section_syntax_indicator 1, '0', reserved '11', section_length (high 4 bits)
    sectionLength & 0xff, // section_length (low 8 bits)
    tableIdExtension >> 8, // transport_stream_id (PAT) or program_number (PMT)
    tableIdExtension & 0xff,
    0xc1, // reserved '11', version_number 0, current_next_indicator 1
    0x00, // section_number
    0x00, // last_section_number
    ...body,
  ];
  const section = new Uint8Array(bytes.length + 4);
  section.set(bytes);
  new DataView(section.buffer).setUint32(bytes.length, crc32Mpeg2(section.subarray(0, bytes.length))); // CRC_32
  return section;
}

/** The program association section of a one-program stream (§2.4.4.3). */
export function patSection(): Uint8Array {
  return psiSection(0x00, 1, /* transport_stream_id */ [
    PROGRAM_NUMBER >> 8, // program_number
    PROGRAM_NUMBER & 0xff,
    0xe0 | (PMT_PID >> 8), // reserved '111', program_map_PID
    PMT_PID & 0xff,
  ]);
}

/** The program map section of the program: its PCR PID and its streams, without descriptors (§2.4.4.8). */
export function pmtSection(pcrPid: number, streams: readonly PmtStream[]): Uint8Array {
  const body = [
    0xe0 | (pcrPid >> 8), // reserved '111', PCR_PID
    pcrPid & 0xff,
    0xf0, // reserved '1111', program_info_length 0
    0x00,
  ];
  for (const { streamType, pid } of streams) {
    body.push(
      streamType, // stream_type
      0xe0 | (pid >> 8), // reserved '111', elementary_PID
      pid & 0xff,
      0xf0, // reserved '1111', ES_info_length 0
      0x00,
    );
  }
  return psiSection(0x02, PROGRAM_NUMBER, body);
}

/**
 * A PES header (§2.4.3.6) with PTS, and DTS when given; `payloadBytes` sets PES_packet_length, or null for 0
 * ("unbounded"), which only video streams may use. data_alignment_indicator is set: every PES this writer makes
 * starts with an access unit (an AUD, an ADTS or MP3 syncword).
 */
export function pesHeader(
  streamId: number,
  pts90k: number,
  dts90k: number | null,
  payloadBytes: number | null,
): Uint8Array {
  const headerDataBytes = dts90k === null ? 5 : 10;
  const header = new Uint8Array(9 + headerDataBytes);
  const length = payloadBytes === null ? 0 : 3 + headerDataBytes + payloadBytes;
  assert(length <= 0xffff, `PES of ${payloadBytes} bytes overflows PES_packet_length`);
  header.set([
    0x00, // packet_start_code_prefix
    0x00,
    0x01,
    streamId, // stream_id
    length >> 8, // PES_packet_length
    length & 0xff,
    0x84, // '10', scrambling 00, priority 0, data_alignment_indicator 1, copyright 0, original 0
    dts90k === null ? 0x80 : 0xc0, // PTS_DTS_flags, no ESCR, ES rate, trick mode, copy info, CRC or extension
    headerDataBytes, // PES_header_data_length
  ]);
  writeTimestamp(header, 9, dts90k === null ? 0b0010 : 0b0011, pts90k); // PTS
  if (dts90k !== null) writeTimestamp(header, 14, 0b0001, dts90k); // DTS
  return header;
}

/** A 33-bit timestamp in the 5-byte PES form: 4-bit prefix, then 3, 15 and 15 bits each ended by a marker bit. */
function writeTimestamp(out: Uint8Array, offset: number, prefix: number, ticks90k: number): void {
  assert(Number.isInteger(ticks90k) && ticks90k >= 0 && ticks90k < TIMESTAMP_MODULUS, `timestamp ${ticks90k}`);
  const high3 = Math.floor(ticks90k / 2 ** 30);
  const low30 = ticks90k % 2 ** 30;
  out[offset] = (prefix << 4) | (high3 << 1) | 1;
  out[offset + 1] = low30 >>> 22;
  out[offset + 2] = (((low30 >>> 15) & 0x7f) << 1) | 1;
  out[offset + 3] = (low30 >>> 7) & 0xff;
  out[offset + 4] = ((low30 & 0x7f) << 1) | 1;
}

/** A PCR (§2.4.3.5) in its 6 adaptation-field bytes: 33-bit base in 90 kHz, 6 reserved bits, extension 0. */
function writePcr(out: Uint8Array, offset: number, base90k: number): void {
  assert(Number.isInteger(base90k) && base90k >= 0 && base90k < TIMESTAMP_MODULUS, `PCR ${base90k}`);
  const high = Math.floor(base90k / 2); // the top 32 bits
  out[offset] = high >>> 24;
  out[offset + 1] = (high >>> 16) & 0xff;
  out[offset + 2] = (high >>> 8) & 0xff;
  out[offset + 3] = high & 0xff;
  out[offset + 4] = ((base90k % 2) << 7) | 0x7e; // last base bit, reserved '111111', extension (high bit) 0
  out[offset + 5] = 0; // program_clock_reference_extension (low 8 bits)
}

/**
 * Writes packets into a growing buffer. Continuity counters (§2.4.3.3) live in `counters`, owned by the caller, so
 * they continue from one segment to the next: a counter goes up by one per packet with payload, and an
 * adaptation-field-only packet repeats the last value.
 */
export class PacketSink {
  #bytes = new Uint8Array(TS_PACKET_BYTES * 64);
  #length = 0;
  readonly #counters: Map<number, number>;

  constructor(counters: Map<number, number>) {
    this.#counters = counters;
  }

  /** The packets written so far, as one buffer. */
  bytes(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }

  /** One PSI section in one packet: pointer_field 0, the section, 0xFF stuffing (§2.4.4.2). */
  section(pid: number, section: Uint8Array): void {
    assert(section.length <= PAYLOAD_BYTES - 1, `PSI section of ${section.length} bytes needs several packets`);
    const packet = this.#packet(pid, true, true, 0);
    packet[4] = 0; // pointer_field
    packet.set(section, 5);
    packet.fill(0xff, 5 + section.length);
  }

  /** A packet with only an adaptation field carrying a PCR on `pid` (§2.4.3.4, adaptation_field_control '10'). */
  pcr(pid: number, pcr90k: number): void {
    const packet = this.#packet(pid, false, false, PAYLOAD_BYTES);
    this.#adaptationField(packet, PAYLOAD_BYTES, { pcr90k, randomAccess: false });
  }

  /**
   * A PES split into packets: the first with payload_unit_start_indicator, and with an adaptation field when it
   * carries a PCR or random_access_indicator; the last filled up with adaptation field stuffing (§2.4.3.4).
   */
  pes(pid: number, pes: Uint8Array, first: { pcr90k: number | null; randomAccess: boolean }): void {
    let offset = 0;
    let isFirst = true;
    while (isFirst || offset < pes.length) {
      const flags = isFirst ? first : { pcr90k: null, randomAccess: false };
      const fieldBytes = flags.pcr90k !== null ? 8 : flags.randomAccess ? 2 : 0;
      const adaptationBytes = Math.max(fieldBytes, PAYLOAD_BYTES - (pes.length - offset));
      const payloadBytes = PAYLOAD_BYTES - adaptationBytes;
      const packet = this.#packet(pid, isFirst, true, adaptationBytes);
      if (adaptationBytes > 0) this.#adaptationField(packet, adaptationBytes, flags);
      packet.set(pes.subarray(offset, offset + payloadBytes), 4 + adaptationBytes);
      offset += payloadBytes;
      isFirst = false;
    }
  }

  /** Appends a packet's 4-byte header and returns the packet to fill (§2.4.3.2). */
  #packet(pid: number, unitStart: boolean, hasPayload: boolean, adaptationBytes: number): Uint8Array {
    if (this.#length + TS_PACKET_BYTES > this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2);
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    const packet = this.#bytes.subarray(this.#length, this.#length + TS_PACKET_BYTES);
    this.#length += TS_PACKET_BYTES;
    const next = this.#counters.get(pid) ?? 0;
    const counter = hasPayload ? next : (next + 15) & 0x0f;
    if (hasPayload) this.#counters.set(pid, (next + 1) & 0x0f);
    const adaptationFieldControl = (adaptationBytes > 0 ? 0b10 : 0) | (hasPayload ? 0b01 : 0);
    packet[0] = SYNC_BYTE; // sync_byte
    packet[1] = (unitStart ? 0x40 : 0) | (pid >> 8); // transport_error 0, payload_unit_start, priority 0, PID
    packet[2] = pid & 0xff;
    packet[3] = (adaptationFieldControl << 4) | counter; // scrambling 00, adaptation_field_control, counter
    return packet;
  }

  /** An adaptation field of exactly `sizeBytes` (its length byte included), stuffed with 0xFF (§2.4.3.4). */
  #adaptationField(
    packet: Uint8Array,
    sizeBytes: number,
    { pcr90k, randomAccess }: { pcr90k: number | null; randomAccess: boolean },
  ): void {
    packet[4] = sizeBytes - 1; // adaptation_field_length
    if (sizeBytes === 1) return; // a single stuffing byte: the length alone
    // discontinuity 0, random_access_indicator, priority 0, PCR_flag, no OPCR, splicing, private data or extension
    packet[5] = (randomAccess ? 0x40 : 0) | (pcr90k !== null ? 0x10 : 0);
    let at = 6;
    if (pcr90k !== null) {
      writePcr(packet, at, pcr90k);
      at += 6;
    }
    packet.fill(0xff, at, 4 + sizeBytes); // stuffing_byte
  }
}
