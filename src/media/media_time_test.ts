/** Exact rescaling and comparison of media times across timescales. */

import assert from "node:assert/strict";
import { compareTimes, differenceTicks, rescaleTicks } from "./media_time.ts";

Deno.test("rescaleTicks rounds as asked, also below zero", () => {
  // 1 tick of 90 kHz is 0.5333 ticks of 48 kHz.
  assert.deepEqual(["floor", "ceil", "round"].map((r) => rescaleTicks(1, 90000, 48000, r as "floor")), [0, 1, 1]);
  assert.deepEqual(["floor", "ceil", "round"].map((r) => rescaleTicks(-1, 90000, 48000, r as "floor")), [-1, 0, -1]);
  // Exactly half rounds away from zero.
  assert.equal(rescaleTicks(1, 2, 1, "round"), 1);
  assert.equal(rescaleTicks(-1, 2, 1, "round"), -1);
  assert.equal(rescaleTicks(3000, 90000, 48000, "floor"), 1600);
  assert.equal(rescaleTicks(123, 48000, 48000, "ceil"), 123);
});

Deno.test("rescaleTicks is exact where floating point is not", () => {
  // A week at 90 kHz to 48 kHz: the product 5.4e10 * 48000 exceeds 2^53.
  const weekTicks = 7 * 86400 * 90000 + 1;
  assert.equal(rescaleTicks(weekTicks, 90000, 48000, "floor"), 7 * 86400 * 48000);
  assert.equal(rescaleTicks(weekTicks, 90000, 48000, "ceil"), 7 * 86400 * 48000 + 1);
});

Deno.test("compareTimes and differenceTicks work across timescales", () => {
  assert.equal(compareTimes({ ticks: 90000, timescale: 90000 }, { ticks: 48000, timescale: 48000 }), 0);
  assert.equal(compareTimes({ ticks: 89999, timescale: 90000 }, { ticks: 1, timescale: 1 }), -1);
  assert.equal(compareTimes({ ticks: 48001, timescale: 48000 }, { ticks: 1000, timescale: 1000 }), 1);
  // 10.5 s - 10 s = 500 ms; 10 s - 9.99 s = 480 ticks of 48 kHz.
  assert.equal(
    differenceTicks({ ticks: 504000, timescale: 48000 }, { ticks: 900000, timescale: 90000 }, 1000, "round"),
    500,
  );
  assert.equal(differenceTicks({ ticks: 10, timescale: 1 }, { ticks: 479520, timescale: 48000 }, 48000, "round"), 480);
  assert.equal(differenceTicks({ ticks: 1, timescale: 90000 }, { ticks: 0, timescale: 1 }, 1000, "ceil"), 1);
  assert.equal(differenceTicks({ ticks: 0, timescale: 1 }, { ticks: 1, timescale: 90000 }, 1000, "floor"), -1);
});
