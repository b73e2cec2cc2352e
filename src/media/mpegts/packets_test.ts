import assert from "node:assert/strict";
import { bin, toHex } from "../../shared/testing.ts";
import { crc32Mpeg2, PacketSink, patSection, pesHeader, pmtSection } from "./packets.ts";
import { crc32, readPackets, readTs } from "./testing.ts";

Deno.test("crc32Mpeg2 has the CRC-32/MPEG-2 check value and agrees with a bitwise CRC", () => {
  assert.equal(crc32Mpeg2(new TextEncoder().encode("123456789")), 0x0376e6e7);
  const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff);
  assert.equal(crc32Mpeg2(bytes), crc32(bytes));
});

/** PSI sections as ffmpeg 5.1's mpegts muxer writes them for the same program (PMT PID 0x1000, streams from 0x100). */
const SECTIONS: { name: string; section: () => Uint8Array; bytes: string }[] = [
  { name: "PAT", section: patSection, bytes: "00 b00d 0001 c1 00 00 0001 f000 2ab104b2" },
  {
    name: "PMT of H.264 + AAC",
    section: () => pmtSection(0x100, [{ streamType: 0x1b, pid: 0x100 }, { streamType: 0x0f, pid: 0x101 }]),
    bytes: "02 b017 0001 c1 00 00 e100 f000 1b e100 f000 0f e101 f000 2f44b99b",
  },
  {
    name: "PMT of MPEG-1 audio alone",
    section: () => pmtSection(0x100, [{ streamType: 0x03, pid: 0x100 }]),
    bytes: "02 b012 0001 c1 00 00 e100 f000 03 e100 f000 d786445c",
  },
  {
    name: "PMT of MPEG-2 audio alone",
    section: () => pmtSection(0x100, [{ streamType: 0x04, pid: 0x100 }]),
    bytes: "02 b012 0001 c1 00 00 e100 f000 04 e100 f000 2c656f48",
  },
];

for (const { name, section, bytes } of SECTIONS) {
  Deno.test(`${name} section equals ffmpeg's`, () => {
    assert.equal(toHex(section()), toHex(bin(bytes)));
  });
}

Deno.test("pesHeader writes PTS alone, or PTS and DTS, in the 5-byte marker form", () => {
  // start code, stream_id, PES_packet_length 3 + 5 + 100, '10' + data_alignment_indicator, PTS only, 5 bytes
  assert.equal(
    toHex(pesHeader(0xc0, 0x1_2345_6789, null, 100)),
    "000001c0006c848005" + toHex(expectedPts(0b0010, 0x1_2345_6789)),
  );
  const video = pesHeader(0xe0, 900_000 + 3003, 900_000, null);
  assert.equal(
    toHex(video),
    "000001e0000084c00a" + toHex(expectedPts(0b0011, 903_003)) + toHex(expectedPts(0b0001, 900_000)),
  );
});

/** The 5 timestamp bytes computed with BigInt shifts, independently of the writer's arithmetic. */
function expectedPts(prefix: number, value: number): Uint8Array {
  const v = BigInt(value);
  return new Uint8Array([
    (prefix << 4) | Number(((v >> 30n) & 7n) << 1n) | 1,
    Number((v >> 22n) & 0xffn),
    Number(((v >> 15n) & 0x7fn) << 1n) | 1,
    Number((v >> 7n) & 0xffn),
    Number((v & 0x7fn) << 1n) | 1,
  ]);
}

Deno.test("PacketSink splits a PES with PCR and RAI, stuffs the last packet, and counts per PID", () => {
  const counters = new Map<number, number>([[0x100, 14]]);
  const sink = new PacketSink(counters);
  // 184 - 8 (PCR adaptation field) = 176 bytes in the first packet; 183 leave one stuffing byte (length 0 only)
  const pes = Uint8Array.from({ length: 176 + 183 }, (_, i) => i & 0xff);
  sink.pes(0x100, pes, { pcr90k: 2 ** 33 - 1, randomAccess: true });
  sink.pcr(0x100, 12345);
  sink.pes(0x100, pes.subarray(0, 182), { pcr90k: null, randomAccess: false }); // two stuffing bytes: length 1, flags 0
  const packets = readPackets(sink.bytes());
  assert.deepEqual(
    packets.map((p) => [p.pid, p.unitStart, p.counter, p.hasPayload, p.randomAccess, p.pcr, p.payload.length]),
    [
      [0x100, true, 14, true, true, 2 ** 33 - 1, 176],
      [0x100, false, 15, true, false, null, 183],
      [0x100, false, 15, false, false, 12345, 0], // adaptation field only: the counter does not advance
      [0x100, true, 0, true, false, null, 182],
    ],
  );
  assert.equal(toHex(sink.bytes().subarray(188, 193)), "4701003f00", "length 0: one stuffing byte");
  assert.equal(toHex(sink.bytes().subarray(564, 570)), "474100300100", "length 1: flags byte only");
  assert.equal(counters.get(0x100), 1);
});

Deno.test("sections go one per packet behind a pointer_field, padded with 0xFF", () => {
  const sink = new PacketSink(new Map());
  sink.section(0, patSection());
  sink.section(0x1000, pmtSection(0x100, [{ streamType: 0x1b, pid: 0x100 }]));
  const contents = readTs(sink.bytes());
  assert.deepEqual([contents.pmtPid, contents.pcrPid, contents.streams], [0x1000, 0x100, [{
    streamType: 0x1b,
    pid: 0x100,
  }]]);
});
