/** RFC 3711 index estimation around the 16-bit wrap, and the replay window against a reference set. */

import assert from "node:assert/strict";
import { seededRandom } from "../shared/testing.ts";
import {
  estimatePacketIndex,
  REPLAY_DUPLICATE,
  REPLAY_FRESH,
  REPLAY_TOO_OLD,
  REPLAY_WINDOW_PACKETS,
  ReplayWindow,
} from "./packet_index.ts";

const ROC = 0x10000;

Deno.test("estimatePacketIndex keeps the rollover counter away from the wrap", () => {
  assert.equal(estimatePacketIndex(5 * ROC + 1000, 1001), 5 * ROC + 1001);
  assert.equal(estimatePacketIndex(5 * ROC + 1000, 900), 5 * ROC + 900);
  assert.equal(estimatePacketIndex(5 * ROC + 40000, 40100), 5 * ROC + 40100);
});

Deno.test("estimatePacketIndex moves to the next rollover counter after a wrap and back for late packets", () => {
  assert.equal(estimatePacketIndex(5 * ROC + 65535, 0), 6 * ROC);
  assert.equal(estimatePacketIndex(5 * ROC + 65000, 3), 6 * ROC + 3);
  assert.equal(estimatePacketIndex(6 * ROC + 2, 65534), 5 * ROC + 65534);
  assert.equal(estimatePacketIndex(6 * ROC + 2, 32770), 6 * ROC + 32770);
  assert.equal(estimatePacketIndex(6 * ROC + 2, 32771), 5 * ROC + 32771);
  // Nothing before rollover counter 0.
  assert.ok(estimatePacketIndex(10, 65530) < 0);
});

Deno.test("ReplayWindow refuses duplicates, accepts reordering inside the window and refuses what is behind it", () => {
  const window = new ReplayWindow(100);
  assert.equal(window.check(100), REPLAY_DUPLICATE);
  assert.equal(window.check(101), REPLAY_FRESH);
  assert.equal(window.check(99), REPLAY_FRESH);
  window.accept(105);
  window.accept(103);
  assert.equal(window.check(103), REPLAY_DUPLICATE);
  assert.equal(window.check(104), REPLAY_FRESH);
  assert.equal(window.check(105 - REPLAY_WINDOW_PACKETS + 1), REPLAY_FRESH);
  assert.equal(window.check(105 - REPLAY_WINDOW_PACKETS), REPLAY_TOO_OLD);
  assert.equal(window.highestIndex, 105);
  window.accept(105 + 5000);
  assert.equal(window.check(105), REPLAY_TOO_OLD);
  assert.equal(window.check(5104), REPLAY_FRESH);
});

Deno.test("ReplayWindow agrees with a set of received indices over random jumps and reorders", () => {
  const random = seededRandom(21);
  const window = new ReplayWindow(1000);
  const received = new Set([1000]);
  let highest = 1000;
  for (let step = 0; step < 50_000; step++) {
    const index = Math.max(0, highest + Math.floor(random() * 1500) - 1100);
    const expected = highest - index >= REPLAY_WINDOW_PACKETS
      ? REPLAY_TOO_OLD
      : received.has(index)
      ? REPLAY_DUPLICATE
      : REPLAY_FRESH;
    assert.equal(window.check(index), expected, `step ${step}, index ${index}, highest ${highest}`);
    if (expected === REPLAY_FRESH && random() < 0.8) {
      window.accept(index);
      received.add(index);
      highest = Math.max(highest, index);
    }
  }
});
