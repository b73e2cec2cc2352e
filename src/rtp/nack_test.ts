/** NACK requests by time (at once, retries, giving up, wrap, restarts) and generic NACK bytes read back by hand. */

import assert from "node:assert/strict";
import { genericNack, NackRequester } from "./nack.ts";

const options = { retryIntervalMs: 30, maxAgeMs: 500, maxMissing: 100, maxRequests: 5 };

function arriveAll(requester: NackRequester, sequenceNumbers: number[], nowMs: number): void {
  for (const sequence of sequenceNumbers) requester.arrived(sequence, nowMs);
}

Deno.test("NackRequester asks for a gap at once, again every retry interval, and no more once the packet came", () => {
  const requester = new NackRequester(options);
  arriveAll(requester, [100, 101], 0);
  assert.equal(requester.arrived(104, 10), 2);
  assert.deepEqual(requester.due(10), [102, 103]);
  assert.deepEqual(requester.due(39), [], "not before the retry interval");
  assert.deepEqual(requester.due(40), [102, 103]);
  requester.arrived(103, 45);
  assert.deepEqual(requester.due(70), [102]);
  requester.arrived(102, 71);
  assert.equal(requester.missingCount, 0);
  assert.deepEqual(requester.due(200), []);
});

Deno.test("NackRequester retries through a stalled event loop: a late burst asks once, not once per missed tick", () => {
  const requester = new NackRequester(options);
  arriveAll(requester, [1, 3], 0);
  assert.deepEqual(requester.due(0), [2]);
  // The timer was held up 200 ms, then its ticks fire back to back.
  assert.deepEqual([requester.due(200), requester.due(200), requester.due(201)], [[2], [], []]);
  assert.deepEqual(requester.due(230), [2]);
});

Deno.test("NackRequester asks for a packet maxRequests times at most", () => {
  const requester = new NackRequester(options);
  arriveAll(requester, [1, 3], 0);
  const asked = [0, 30, 60, 90, 120, 150, 180].map((nowMs) => requester.due(nowMs).length);
  assert.deepEqual(asked, [1, 1, 1, 1, 1, 0, 0]);
  assert.equal(requester.missingCount, 0);
});

Deno.test("NackRequester gives up on a packet missing for longer than maxAgeMs", () => {
  const requester = new NackRequester(options);
  arriveAll(requester, [1, 3], 0);
  requester.arrived(5, 300);
  assert.deepEqual(requester.due(300), [2, 4]);
  assert.deepEqual(requester.due(501), [4]);
  assert.equal(requester.missingCount, 1);
  assert.deepEqual(requester.due(801), []);
  assert.equal(requester.missingCount, 0);
});

Deno.test("NackRequester follows the sequence number across 65535, and duplicates and reordering ask for nothing", () => {
  const requester = new NackRequester(options);
  arriveAll(requester, [65533, 65534], 0);
  assert.equal(requester.arrived(1, 0), 2);
  assert.deepEqual(requester.due(0), [65535, 0]);
  arriveAll(requester, [1, 65534, 0], 5);
  assert.deepEqual(requester.due(100), [65535]);
});

Deno.test("NackRequester takes a large jump for a restart, and keeps at most maxMissing, the newest", () => {
  const restarted = new NackRequester(options);
  arriveAll(restarted, [10, 12], 0);
  assert.equal(restarted.arrived(30_000, 1), 0);
  assert.deepEqual(restarted.due(1), []);

  const bounded = new NackRequester({ ...options, maxMissing: 3 });
  arriveAll(bounded, [0, 10], 0);
  assert.deepEqual(bounded.due(0), [7, 8, 9]);
});

/** The sequence numbers a generic NACK asks for, read from its bytes (RFC 4585 §6.2.1). */
function readNack(bytes: Uint8Array): { senderSsrc: number; mediaSsrc: number; lost: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(view.getUint8(0), 0x81, "V=2, no padding, FMT=1");
  assert.equal(view.getUint8(1), 205, "PT=RTPFB");
  assert.equal((view.getUint16(2) + 1) * 4, bytes.length, "length in 32-bit words minus one");
  const lost: number[] = [];
  for (let offset = 12; offset < bytes.length; offset += 4) {
    const pid = view.getUint16(offset);
    const blp = view.getUint16(offset + 2);
    lost.push(pid);
    for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
  }
  return { senderSsrc: view.getUint32(4), mediaSsrc: view.getUint32(8), lost };
}

Deno.test("genericNack packs neighbours into one entry's bitmask, across the wrap, and starts a new entry past 16", () => {
  const lost = [65530, 65531, 65535, 0, 9, 10, 40];
  const bytes = genericNack(0xdeadbeef, 0x01020304, lost);
  assert.equal(bytes.length, 12 + 4 * 2, "65530 and the 16 after it (to 10) fit one entry; 40 starts a second");
  assert.deepEqual(readNack(bytes), {
    senderSsrc: 0xdeadbeef,
    mediaSsrc: 0x01020304,
    lost: [65530, 65531, 65535, 0, 9, 10, 40],
  });
});
