/** Reception statistics against RFC 3550's arithmetic, and receiver report bytes read back by hand. */

import assert from "node:assert/strict";
import { receiverReport, ReceptionStats, type ReportBlock, senderReports } from "./receiver_report.ts";

/** 90 kHz video, one packet per 33 ms frame with matching timestamps: no jitter. */
function steady(stats: ReceptionStats, sequences: number[], firstSequence = sequences[0]!): void {
  for (const sequence of sequences) {
    const frame = sequence - firstSequence;
    stats.received(sequence & 0xffff, (frame * 3000) >>> 0, 1000 + frame * 100 / 3);
  }
}

Deno.test("ReceptionStats: losses since the last report in 1/256ths, cumulative losses, and the highest sequence", () => {
  const stats = new ReceptionStats(7, 90_000);
  assert.equal(stats.reportBlock(0), undefined, "nothing to report before a packet");
  steady(stats, [100, 101, 103, 104], 100);
  const first = stats.reportBlock(2000)!;
  assert.deepEqual(
    [first.fractionLost, first.cumulativeLost, first.extendedHighestSequence, first.jitterTicks],
    [Math.floor(256 / 5), 1, 104, 0],
  );
  steady(stats, [105, 106, 107, 108], 100);
  const second = stats.reportBlock(3000)!;
  assert.deepEqual([second.fractionLost, second.cumulativeLost], [0, 1]);
  // The lost packet comes late: nothing is lost any more.
  stats.received(102, 2 * 3000, 5000);
  assert.equal(stats.reportBlock(4000)!.cumulativeLost, 0);
});

Deno.test("ReceptionStats counts wraps of the sequence number in the high 16 bits", () => {
  const stats = new ReceptionStats(7, 90_000);
  steady(stats, [65534, 65535, 65536, 65537], 65534);
  const block = stats.reportBlock(0)!;
  assert.equal(block.extendedHighestSequence, 0x1_0001);
  assert.equal(block.cumulativeLost, 0);
});

Deno.test("ReceptionStats: jitter is the running mean of transit differences (A.8), across a timestamp wrap", () => {
  const stats = new ReceptionStats(7, 90_000);
  // Every second packet arrives 10 ms (900 ticks) late; the timestamps start 100 ticks below the wrap.
  for (let i = 0; i < 200; i++) {
    stats.received(i, (0xffff_ff9c + i * 3000) >>> 0, i * 100 / 3 + (i % 2) * 10);
  }
  const jitter = stats.reportBlock(0)!.jitterTicks;
  assert.ok(Math.abs(jitter - 900) <= 1, `jitter ${jitter} ticks, expected 900`);
});

Deno.test("ReceptionStats: the last sender report's middle 32 bits and the delay since it in 1/65536 s", () => {
  const stats = new ReceptionStats(7, 48_000);
  steady(stats, [1, 2]);
  stats.senderReport(0x1122_3344_5566_7788n, 10_000);
  const block = stats.reportBlock(10_250)!;
  assert.equal(block.lastSenderReport, 0x3344_5566);
  assert.equal(block.delaySinceLastSenderReport, 65536 / 4);
});

/** The report blocks of a receiver report, read from its bytes (RFC 3550 §6.4.2). */
function readReport(bytes: Uint8Array): { senderSsrc: number; blocks: ReportBlock[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint8(0) & 0x1f;
  assert.equal(view.getUint8(0) >> 6, 2, "version 2");
  assert.equal(view.getUint8(1), 201, "PT=RR");
  assert.equal((view.getUint16(2) + 1) * 4, bytes.length, "length in 32-bit words minus one");
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const at = 8 + 24 * i;
    const lost = view.getUint32(at + 4) & 0xff_ffff;
    blocks.push({
      ssrc: view.getUint32(at),
      fractionLost: view.getUint8(at + 4),
      cumulativeLost: lost >= 0x80_0000 ? lost - 0x100_0000 : lost,
      extendedHighestSequence: view.getUint32(at + 8),
      jitterTicks: view.getUint32(at + 12),
      lastSenderReport: view.getUint32(at + 16),
      delaySinceLastSenderReport: view.getUint32(at + 20),
    });
  }
  return { senderSsrc: view.getUint32(4), blocks };
}

Deno.test("receiverReport writes one block per stream; a negative cumulative loss keeps its sign in 24 bits", () => {
  const blocks: ReportBlock[] = [
    {
      ssrc: 0xfeed_f00d,
      fractionLost: 51,
      cumulativeLost: 12,
      extendedHighestSequence: 0x2_0010,
      jitterTicks: 450,
      lastSenderReport: 0xdead_beef,
      delaySinceLastSenderReport: 65536,
    },
    {
      ssrc: 2,
      fractionLost: 0,
      cumulativeLost: -3,
      extendedHighestSequence: 9,
      jitterTicks: 0,
      lastSenderReport: 0,
      delaySinceLastSenderReport: 0,
    },
  ];
  const bytes = receiverReport(0x0102_0304, blocks);
  assert.equal(bytes.length, 8 + 2 * 24);
  assert.deepEqual(readReport(bytes), { senderSsrc: 0x0102_0304, blocks });
  assert.deepEqual(readReport(receiverReport(5, [])), { senderSsrc: 5, blocks: [] });
});

Deno.test("senderReports finds the sender reports of a compound packet and stops at a length past the end", () => {
  const sr = [
    0x80,
    200,
    0,
    6,
    0,
    0,
    0,
    9,
    0x11,
    0x22,
    0x33,
    0x44,
    0x55,
    0x66,
    0x77,
    0x88,
    0,
    0,
    0x10,
    0,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    2,
  ];
  const sdes = [0x81, 202, 0, 1, 0, 0, 0, 9];
  const compound = new Uint8Array([...sr, ...sdes, ...sr.map((byte, i) => i === 7 ? 10 : byte)]);
  assert.deepEqual(senderReports(compound), [
    { ssrc: 9, ntpTimestamp: 0x1122_3344_5566_7788n, rtpTimestamp: 0x1000 },
    { ssrc: 10, ntpTimestamp: 0x1122_3344_5566_7788n, rtpTimestamp: 0x1000 },
  ]);
  assert.deepEqual(senderReports(new Uint8Array([...sr.slice(0, 27)])), [], "truncated");
  assert.deepEqual(
    senderReports(new Uint8Array([...sdes, 0x80, 200, 0, 60, ...sr.slice(4)])),
    [],
    "length past the end",
  );
});
