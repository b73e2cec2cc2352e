/**
 * Test-only: an MPEG-TS reader written from ISO/IEC 13818-1 independently of the writer (bitwise CRC, its own field
 * parsing), which checks the invariants a demuxer relies on as it goes, plus fixtures shared by the mpegts tests.
 * Production code never imports it.
 */

import assert from "node:assert/strict";
import { avcDecoderConfigurationRecord } from "../../codec/mod.ts";
import { bin } from "../../shared/testing.ts";
import type { TrackInfo } from "../track.ts";

/** One 188-byte packet, its header and adaptation field fields decoded. */
export interface TsPacket {
  index: number;
  pid: number;
  unitStart: boolean;
  counter: number;
  hasPayload: boolean;
  randomAccess: boolean;
  /** PCR base in 90 kHz (the extension must be 0 here). */
  pcr: number | null;
  payload: Uint8Array;
}

/** One PES reassembled from its packets. */
export interface TsPes {
  pid: number;
  streamId: number;
  pts: number;
  dts: number | null;
  /** PES_packet_length (0: unbounded). */
  packetLength: number;
  /** The elementary stream bytes after the PES header. */
  data: Uint8Array;
  /** random_access_indicator of its first packet. */
  randomAccess: boolean;
  /** The PCR in its first packet, if any. */
  pcr: number | null;
  /** Index of its first packet in the stream. */
  packetIndex: number;
}

/** What a stream of packets holds. */
export interface TsContents {
  packets: TsPacket[];
  pmtPid: number;
  pcrPid: number;
  streams: { streamType: number; pid: number }[];
  pes: TsPes[];
  /** Every PCR in stream order, with the index of its packet. */
  pcrs: { value: number; packetIndex: number }[];
}

/** CRC-32/MPEG-2 bit by bit (ISO/IEC 13818-1 Annex A), deliberately not the writer's table-driven one. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    for (let bit = 7; bit >= 0; bit--) {
      const top = (crc >>> 31) ^ ((byte >> bit) & 1);
      crc = ((crc << 1) ^ (top ? 0x04c11db7 : 0)) >>> 0;
    }
  }
  return crc;
}

/** A 33-bit PES timestamp from its 5 bytes, checking the prefix and the three marker bits. */
function timestamp(bytes: Uint8Array, offset: number, prefix: number): number {
  const b = bytes.subarray(offset, offset + 5);
  assert.equal(b[0]! >> 4, prefix, "timestamp prefix");
  assert.ok((b[0]! & 1) && (b[2]! & 1) && (b[4]! & 1), "timestamp marker bits");
  return ((b[0]! >> 1) & 7) * 2 ** 30 + (b[1]! << 22) + ((b[2]! >> 1) << 15) + (b[3]! << 7) + (b[4]! >> 1);
}

/** Packets of a stream: sync bytes, sizes, adaptation field lengths, no transport errors or scrambling. */
export function readPackets(bytes: Uint8Array, firstIndex = 0): TsPacket[] {
  assert.equal(bytes.length % 188, 0, `${bytes.length} bytes is not a whole number of packets`);
  const packets: TsPacket[] = [];
  for (let at = 0; at < bytes.length; at += 188) {
    const p = bytes.subarray(at, at + 188);
    const index = firstIndex + at / 188;
    assert.equal(p[0], 0x47, `sync byte of packet ${index}`);
    assert.equal(p[1]! & 0x80, 0, "transport_error_indicator");
    assert.equal(p[3]! >> 6, 0, "transport_scrambling_control");
    const control = (p[3]! >> 4) & 3;
    assert.notEqual(control, 0, "adaptation_field_control 00 is reserved");
    let payloadStart = 4;
    let randomAccess = false;
    let pcr: number | null = null;
    if (control & 2) {
      const length = p[4]!;
      assert.ok(control === 2 ? length === 183 : length <= 182, `adaptation_field_length ${length}`);
      if (length > 0) {
        const flags = p[5]!;
        randomAccess = (flags & 0x40) !== 0;
        if (flags & 0x10) {
          pcr = p[6]! * 2 ** 25 + (p[7]! << 17) + (p[8]! << 9) + (p[9]! << 1) + (p[10]! >> 7);
          assert.equal(p[10]! & 0x7e, 0x7e, "PCR reserved bits");
          assert.equal(((p[10]! & 1) << 8) | p[11]!, 0, "PCR extension");
        }
        const fieldsEnd = 6 + (flags & 0x10 ? 6 : 0);
        for (let i = fieldsEnd; i < 5 + length; i++) assert.equal(p[i], 0xff, "stuffing bytes");
      }
      payloadStart = 5 + length;
    }
    packets.push({
      index,
      pid: ((p[1]! & 0x1f) << 8) | p[2]!,
      unitStart: (p[1]! & 0x40) !== 0,
      counter: p[3]! & 0x0f,
      hasPayload: (control & 1) !== 0,
      randomAccess,
      pcr,
      payload: p.subarray(payloadStart),
    });
  }
  return packets;
}

/** A PSI section from a packet with payload_unit_start (pointer_field 0), its CRC checked. */
function section(packet: TsPacket, tableId: number): Uint8Array {
  assert.ok(packet.unitStart, "PSI packet starts a section");
  assert.equal(packet.payload[0], 0, "pointer_field");
  const sectionBytes = packet.payload.subarray(1);
  assert.equal(sectionBytes[0], tableId, "table_id");
  const length = ((sectionBytes[1]! & 0x0f) << 8) | sectionBytes[2]!;
  const whole = sectionBytes.subarray(0, 3 + length);
  assert.equal(crc32(whole), 0, "CRC_32 over the section including it leaves 0");
  for (const byte of sectionBytes.subarray(3 + length)) assert.equal(byte, 0xff, "stuffing after the section");
  return whole;
}

/**
 * Reads a segment or a stream: PAT, then PMT, then PES. Checks that the PAT and PMT open it, that continuity
 * counters run on from `counters` (updated in place, so segments can be read one after another) and that every PES
 * starts and ends on packet boundaries with a consistent length.
 */
export function readTs(bytes: Uint8Array, counters = new Map<number, number>()): TsContents {
  const packets = readPackets(bytes);
  for (const packet of packets) {
    const previous = counters.get(packet.pid);
    if (previous !== undefined) {
      const expected = packet.hasPayload ? (previous + 1) & 0x0f : previous;
      assert.equal(packet.counter, expected, `continuity_counter of PID ${packet.pid} at packet ${packet.index}`);
    }
    counters.set(packet.pid, packet.counter);
  }
  const [patPacket, pmtPacket] = packets;
  assert.ok(patPacket !== undefined && patPacket.pid === 0, "PAT first");
  const pat = section(patPacket, 0x00);
  assert.equal(pat.length, 3 + 5 + 4 + 4, "one program");
  const pmtPid = ((pat[10]! & 0x1f) << 8) | pat[11]!;
  assert.ok(pmtPacket !== undefined && pmtPacket.pid === pmtPid, "PMT second");
  const pmt = section(pmtPacket, 0x02);
  const pcrPid = ((pmt[8]! & 0x1f) << 8) | pmt[9]!;
  const programInfoLength = ((pmt[10]! & 0x0f) << 8) | pmt[11]!;
  const streams: { streamType: number; pid: number }[] = [];
  for (let at = 12 + programInfoLength; at < pmt.length - 4;) {
    const esInfoLength = ((pmt[at + 3]! & 0x0f) << 8) | pmt[at + 4]!;
    streams.push({ streamType: pmt[at]!, pid: ((pmt[at + 1]! & 0x1f) << 8) | pmt[at + 2]! });
    at += 5 + esInfoLength;
  }

  const pes: TsPes[] = [];
  const open = new Map<number, { first: TsPacket; parts: Uint8Array[] }>();
  const finish = (pid: number) => {
    const unit = open.get(pid);
    if (unit === undefined) return;
    open.delete(pid);
    const total = unit.parts.reduce((n, part) => n + part.length, 0);
    const data = new Uint8Array(total);
    let offset = 0;
    for (const part of unit.parts) {
      data.set(part, offset);
      offset += part.length;
    }
    assert.deepEqual([...data.subarray(0, 3)], [0, 0, 1], "packet_start_code_prefix");
    const packetLength = (data[4]! << 8) | data[5]!;
    if (packetLength !== 0) assert.equal(packetLength, total - 6, "PES_packet_length");
    assert.equal(data[6]! >> 6, 2, "'10' after PES_packet_length");
    const ptsDtsFlags = data[7]! >> 6;
    assert.ok(ptsDtsFlags === 2 || ptsDtsFlags === 3, "PTS present");
    const headerLength = data[8]!;
    const pts = timestamp(data, 9, ptsDtsFlags === 3 ? 3 : 2);
    const dts = ptsDtsFlags === 3 ? timestamp(data, 14, 1) : null;
    pes.push({
      pid,
      streamId: data[3]!,
      pts,
      dts,
      packetLength,
      data: data.subarray(9 + headerLength),
      randomAccess: unit.first.randomAccess,
      pcr: unit.first.pcr,
      packetIndex: unit.first.index,
    });
  };
  const pcrs: { value: number; packetIndex: number }[] = [];
  for (const packet of packets.slice(2)) {
    if (packet.pcr !== null) {
      assert.equal(packet.pid, pcrPid, "PCR only on the PCR_PID");
      pcrs.push({ value: packet.pcr, packetIndex: packet.index });
    }
    if (!packet.hasPayload) continue;
    assert.ok(streams.some((s) => s.pid === packet.pid), `PID ${packet.pid} is in the PMT`);
    if (packet.unitStart) {
      finish(packet.pid);
      open.set(packet.pid, { first: packet, parts: [] });
    }
    const unit = open.get(packet.pid);
    assert.ok(unit !== undefined, `PID ${packet.pid} payload before a payload_unit_start`);
    unit.parts.push(packet.payload);
  }
  for (const pid of [...open.keys()]) finish(pid);
  pes.sort((a, b) => a.packetIndex - b.packetIndex);
  return { packets, pmtPid, pcrPid, streams, pes, pcrs };
}

/** Splits an Annex B byte stream on 4-byte start codes (the writer uses no other). */
export function annexBUnits(bytes: Uint8Array): Uint8Array[] {
  const units: Uint8Array[] = [];
  let start = -1;
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 0 && bytes[i + 3] === 1) {
      if (start >= 0) units.push(bytes.subarray(start, i));
      start = i + 4;
      i += 3;
    }
  }
  if (start >= 0) units.push(bytes.subarray(start));
  return units;
}

/** 90 kHz ticks of `ticks` at `timescale`, rounded half up, plus `offset`: exact rational arithmetic in BigInt. */
export function expected90k(ticks: number, timescale: number, offset: number): number {
  const numerator = BigInt(ticks) * 90000n * 2n + BigInt(timescale);
  const denominator = BigInt(timescale) * 2n;
  const floor = numerator >= 0n ? numerator / denominator : -((-numerator + denominator - 1n) / denominator);
  return Number((floor + BigInt(offset)) % 2n ** 33n);
}

/** SPS and PPS of a 1280x720 Constrained Baseline level 3.1 stream. */
export const SPS = bin("67 42 c0 1f da 01 40 16 e8 06 d0 a1 35");
export const PPS = bin("68 ce 06 e2");

/** Track 1: H.264 with SPS/PPS at 90 kHz. */
export const H264_TRACK: TrackInfo = {
  trackId: 1,
  timescale: 90000,
  codec: {
    kind: "video",
    sampleEntry: { fourcc: "avc1", config: { fourcc: "avcC", body: avcDecoderConfigurationRecord([SPS], [PPS]) } },
    widthPx: 1280,
    heightPx: 720,
  },
};

/** An `mp4a` audio track with the given esds body. */
export function mp4aTrack(esds: Uint8Array, timescale: number, channels: number, trackId = 2): TrackInfo {
  return {
    trackId,
    timescale,
    codec: {
      kind: "audio",
      sampleEntry: { fourcc: "mp4a", config: { fourcc: "esds", body: esds } },
      channels,
      sampleRate: timescale,
    },
  };
}

/** Bytes to skip in a box's body before its children: stsd's version, flags and count; a visual sample entry's fields
 * (ISO/IEC 14496-12 §8.5.2, §12.1.3). */
const CHILD_OFFSET: Record<string, number> = { stsd: 8, avc1: 78, hvc1: 78, hev1: 78 };

/** The body of the first box along `path` in an MP4 file, e.g. moov/trak/mdia/minf/stbl/stsd/avc1/avcC. */
export function boxBody(file: Uint8Array, path: readonly string[]): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let from = 0;
  let to = file.length;
  for (const type of path) {
    let found = false;
    for (let at = from; at + 8 <= to;) {
      const size = view.getUint32(at);
      assert.ok(size >= 8 && at + size <= to, `bad box size ${size} at ${at}`);
      if (String.fromCharCode(...file.subarray(at + 4, at + 8)) === type) {
        from = at + 8 + (CHILD_OFFSET[type] ?? 0);
        to = at + size;
        found = true;
        break;
      }
      at += size;
    }
    assert.ok(found, `no ${type} in ${path.join("/")}`);
  }
  return file.subarray(from, to);
}
