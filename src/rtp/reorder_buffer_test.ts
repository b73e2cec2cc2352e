/** Reordering, duplicate/late/loss accounting, resync on sequence jumps, and shuffled-stream properties. */

import assert from "node:assert/strict";
import type { RtpPacket } from "./packet.ts";
import { ReorderBuffer, type ReorderOutput } from "./reorder_buffer.ts";
import { randomInt, seededRandom } from "../shared/testing.ts";

function packet(sequenceNumber: number, timestamp = sequenceNumber * 100): RtpPacket {
  return {
    payloadType: 96,
    sequenceNumber: sequenceNumber & 0xffff,
    timestamp: timestamp >>> 0,
    marker: false,
    ssrc: 1,
    payload: new Uint8Array([sequenceNumber & 0xff]),
  };
}

/** Extended sequence numbers for packets, "loss N" for losses. */
function show(outputs: ReorderOutput[]): (number | string)[] {
  return outputs.map((o) => o.type === "packet" ? o.extendedSequence : `loss ${o.count}`);
}

function pushAll(buffer: ReorderBuffer, sequenceNumbers: number[]): (number | string)[][] {
  return sequenceNumbers.map((n) => show(buffer.push(packet(n))));
}

const roomy = { capacityPackets: 64, maxDelayTicks: 1_000_000 };

Deno.test("ReorderBuffer passes in-order packets through immediately", () => {
  const buffer = new ReorderBuffer(roomy);
  assert.deepEqual(pushAll(buffer, [10, 11, 12]), [[], [10, 11], [12]]);
  assert.deepEqual(buffer.stats, {
    received: 3,
    duplicates: 0,
    late: 0,
    lost: 0,
    reordered: 0,
    outOfWindow: 0,
    resyncs: 0,
  });
});

Deno.test("ReorderBuffer holds packets behind a gap and releases them when it fills", () => {
  const buffer = new ReorderBuffer(roomy);
  assert.deepEqual(pushAll(buffer, [1, 3, 4, 2, 5]), [[], [1], [], [2, 3, 4], [5]]);
  assert.deepEqual(buffer.stats.reordered, 1);
});

Deno.test("ReorderBuffer keeps the payload and extends sequence numbers across the wrap", () => {
  const buffer = new ReorderBuffer(roomy);
  const released = [65534, 0, 65535, 1].flatMap((n) => buffer.push(packet(n)));
  assert.deepEqual(show(released), [65534, 65535, 65536, 65537]);
  const first = released[0]!;
  assert(first.type === "packet");
  assert.deepEqual(first.packet.sequenceNumber, 65534);
  assert.deepEqual(first.packet.payload, new Uint8Array([0xfe]));
});

Deno.test("ReorderBuffer drops and counts duplicates, buffered or already released", () => {
  const buffer = new ReorderBuffer(roomy);
  assert.deepEqual(pushAll(buffer, [1, 1, 3, 3, 2, 2]), [[], [], [1], [], [2, 3], []]);
  assert.deepEqual(buffer.stats.duplicates, 3);
  assert.deepEqual(buffer.stats.late, 0);
});

Deno.test("ReorderBuffer reports a loss once capacityPackets wait behind a gap", () => {
  const buffer = new ReorderBuffer({ capacityPackets: 3, maxDelayTicks: 1_000_000 });
  assert.deepEqual(pushAll(buffer, [1, 4, 5, 6, 7]), [[], [1], [], ["loss 2", 4, 5, 6], [7]]);
  assert.deepEqual(buffer.stats.lost, 2);
});

Deno.test("ReorderBuffer reports a loss once the waiting packets span more than maxDelayTicks", () => {
  const buffer = new ReorderBuffer({ capacityPackets: 100, maxDelayTicks: 3000 });
  const outputs = [
    buffer.push(packet(1, 0)),
    buffer.push(packet(3, 3000)),
    buffer.push(packet(4, 6000)), // 3000 after the oldest waiting one: still within maxDelayTicks
    buffer.push(packet(5, 6001)), // 3001 after it: give up on 2
  ];
  assert.deepEqual(outputs.map(show), [[], [1], [], ["loss 1", 3, 4, 5]]);
});

Deno.test("ReorderBuffer measures the delay across the 32-bit timestamp wrap", () => {
  const buffer = new ReorderBuffer({ capacityPackets: 100, maxDelayTicks: 3000 });
  const outputs = [
    buffer.push(packet(1, 2 ** 32 - 2000)),
    buffer.push(packet(3, 2 ** 32 - 1000)),
    buffer.push(packet(4, 500)),
    buffer.push(packet(5, 2001)), // 3001 ticks after packet 3
  ];
  assert.deepEqual(outputs.map(show), [[], [1], [], ["loss 1", 3, 4, 5]]);
});

Deno.test("ReorderBuffer counts a packet arriving after its loss was reported as late and drops it", () => {
  const buffer = new ReorderBuffer({ capacityPackets: 2, maxDelayTicks: 1_000_000 });
  assert.deepEqual(pushAll(buffer, [1, 3, 4, 2, 5]), [[], [1], ["loss 1", 3, 4], [], [5]]);
  assert.deepEqual(buffer.stats, {
    received: 5,
    duplicates: 0,
    late: 1,
    lost: 1,
    reordered: 0,
    outOfWindow: 0,
    resyncs: 0,
  });
});

Deno.test("ReorderBuffer flush releases everything waiting with losses for the gaps", () => {
  const buffer = new ReorderBuffer(roomy);
  assert.deepEqual(pushAll(buffer, [1, 3, 6, 7]), [[], [1], [], []]);
  assert.deepEqual(show(buffer.flush()), ["loss 1", 3, "loss 2", 6, 7]);
  assert.deepEqual(pushAll(buffer, [8]), [[8]]);
});

Deno.test("ReorderBuffer holds a packet at the far edge of the window beside the gap's head, then many windows on", () => {
  const buffer = new ReorderBuffer(roomy);
  // 2999 ahead is still loss, not a restart; both wait behind the gap at 2 until flushed.
  assert.deepEqual(pushAll(buffer, [0, 1, 3, 3001]), [[], [0, 1], [], []]);
  assert.deepEqual(show(buffer.flush()), ["loss 1", 3, "loss 2997", 3001]);
  // Then ten thousand packets in pairs swapped: every slot of the ring is reused a few times.
  const released: (number | string)[] = [];
  for (let n = 3002; n < 13_002; n += 2) released.push(...pushAll(buffer, [n + 1, n]).flat());
  assert.deepEqual(released, Array.from({ length: 10_000 }, (_, i) => 3002 + i));
});

Deno.test("ReorderBuffer ignores a single packet far outside the window", () => {
  const buffer = new ReorderBuffer(roomy);
  assert.deepEqual(pushAll(buffer, [100, 101, 30000, 102]), [[], [100, 101], [], [102]]);
  assert.deepEqual(buffer.stats.outOfWindow, 1);
  assert.deepEqual(buffer.stats.resyncs, 0);
});

Deno.test("ReorderBuffer resyncs when a publisher restart jumps the sequence forward", () => {
  const buffer = new ReorderBuffer(roomy);
  assert.deepEqual(pushAll(buffer, [100, 101, 103, 40000]), [[], [100, 101], [], []]);
  const [resync] = pushAll(buffer, [40001]);
  // Waiting packets are released first, then the discontinuity, then the new stream numbered after the old one.
  assert.deepEqual(resync, ["loss 1", 103, "loss 0", 40000, 40001]);
  assert.deepEqual(pushAll(buffer, [40002]), [[40002]]);
  assert.deepEqual(buffer.stats.resyncs, 1);
  assert.deepEqual(buffer.stats.outOfWindow, 0);
});

Deno.test("ReorderBuffer resyncs when a restart jumps backward, even if the first two arrive swapped", () => {
  const buffer = new ReorderBuffer(roomy);
  assert.deepEqual(pushAll(buffer, [5000, 5001, 11, 10, 12]), [[], [5000, 5001], [], ["loss 0", 65546, 65547], [
    65548,
  ]]);
});

Deno.test("ReorderBuffer restores a shuffled stream across the wrap and reports exactly the dropped packets", () => {
  const random = seededRandom(3);
  for (let run = 0; run < 20; run++) {
    const start = randomInt(random, 60_000, 65_535);
    const count = 3000;
    const sent = Array.from({ length: count }, (_, i) => start + i);
    // The first and last packets arrive; 5% of the others are dropped.
    const kept = sent.filter((_, i) => i === 0 || i === count - 1 || random() >= 0.05);
    // Local shuffle: each packet moves at most 8 places, far less than the capacity.
    const arrival = kept.map((n, i) => ({ n, key: i + random() * 8 })).sort((a, b) => a.key - b.key).map((a) => a.n);
    arrival.splice(arrival.indexOf(start), 1);
    arrival.unshift(start);

    const buffer = new ReorderBuffer(roomy);
    const outputs = [...arrival.flatMap((n) => buffer.push(packet(n))), ...buffer.flush()];
    const released = outputs.flatMap((o) => o.type === "packet" ? [o.extendedSequence] : []);
    const lost = outputs.reduce((sum, o) => sum + (o.type === "loss" ? o.count : 0), 0);
    assert.deepEqual(released, kept, `run ${run}`);
    assert.deepEqual(lost, count - kept.length);
    assert.deepEqual(buffer.stats.lost, lost);
    assert.deepEqual(buffer.stats.late + buffer.stats.duplicates, 0);
  }
});

Deno.test("ReorderBuffer keeps order and accounting under random duplication, loss and delay", () => {
  const random = seededRandom(5);
  const totals = { late: 0, duplicates: 0, lost: 0, reordered: 0 };
  for (let run = 0; run < 20; run++) {
    const buffer = new ReorderBuffer({ capacityPackets: 16, maxDelayTicks: 2000 });
    let sequence = randomInt(random, 0, 65_535);
    const arrivals: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const n = sequence + i;
      if (random() < 0.1) continue;
      const delay = random() < 0.1 ? randomInt(random, 1, 40) : 0;
      arrivals.splice(Math.max(0, arrivals.length - delay), 0, n);
      if (random() < 0.05) arrivals.push(n);
    }
    sequence += 2000;
    const outputs = [...arrivals.flatMap((n) => buffer.push(packet(n))), ...buffer.flush()];
    const released = outputs.flatMap((o) => o.type === "packet" ? [o.extendedSequence] : []);
    for (let i = 1; i < released.length; i++) assert(released[i]! > released[i - 1]!, `run ${run}: order at ${i}`);
    const lost = outputs.reduce((sum, o) => sum + (o.type === "loss" ? o.count : 0), 0);
    const { received, duplicates, late } = buffer.stats;
    assert.deepEqual(released.length + duplicates + late, received, `run ${run}: every packet accounted for`);
    assert.deepEqual(released.length + lost, released.at(-1)! - released[0]! + 1, `run ${run}: no silent gaps`);
    for (const key of ["late", "duplicates", "lost", "reordered"] as const) totals[key] += buffer.stats[key];
  }
  assert(Object.values(totals).every((total) => total > 0), `every path exercised: ${JSON.stringify(totals)}`);
});

Deno.test("ReorderBuffer takes a packet from before the first one as the start (a keyframe's first packet overtaken)", () => {
  const buffer = new ReorderBuffer(roomy);
  assert.deepEqual(pushAll(buffer, [21, 20, 22]), [[], [20, 21], [22]]);
  assert.deepEqual(buffer.stats.duplicates + buffer.stats.late, 0);
});
