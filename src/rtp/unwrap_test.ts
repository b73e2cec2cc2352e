/** Sequence and timestamp unwrapping at the wrap, and random walks compared with the true counter. */

import assert from "node:assert/strict";
import { SequenceUnwrapper, TimestampUnwrapper } from "./unwrap.ts";
import { randomInt, seededRandom } from "../shared/testing.ts";

Deno.test("SequenceUnwrapper counts on across the 16-bit wrap", () => {
  const unwrapper = new SequenceUnwrapper();
  assert.deepEqual([65534, 65535, 0, 1].map((n) => unwrapper.unwrap(n)), [65534, 65535, 65536, 65537]);
});

Deno.test("SequenceUnwrapper places packets reordered around the wrap on the right side", () => {
  const unwrapper = new SequenceUnwrapper();
  assert.deepEqual([65535, 1, 0, 65534, 2].map((n) => unwrapper.unwrap(n)), [65535, 65537, 65536, 65534, 65538]);
});

Deno.test("SequenceUnwrapper goes below zero for packets older than the first", () => {
  const unwrapper = new SequenceUnwrapper();
  assert.deepEqual([0, 65535, 1].map((n) => unwrapper.unwrap(n)), [0, -1, 1]);
});

Deno.test("TimestampUnwrapper counts on across the 32-bit wrap", () => {
  const unwrapper = new TimestampUnwrapper();
  assert.deepEqual([0xfffffff0, 0x10, 0xfffffffe].map((n) => unwrapper.unwrap(n)), [
    0xfffffff0,
    2 ** 32 + 0x10,
    0xfffffffe,
  ]);
});

Deno.test("TimestampUnwrapper stays exact for more than a year at 90 kHz", () => {
  const unwrapper = new TimestampUnwrapper();
  const yearTicks = 366 * 24 * 3600 * 90_000;
  const stepTicks = 2 ** 31 - 1;
  let trueTicks = 123_456;
  unwrapper.unwrap(trueTicks);
  while (trueTicks < yearTicks) {
    trueTicks += stepTicks;
    assert.deepEqual(unwrapper.unwrap(trueTicks % 2 ** 32), trueTicks);
  }
});

for (
  const [name, range, make] of [
    ["SequenceUnwrapper", 2 ** 16, () => new SequenceUnwrapper()],
    ["TimestampUnwrapper", 2 ** 32, () => new TimestampUnwrapper()],
  ] as const
) {
  Deno.test(`${name} recovers random walks with reordering across many wraps`, () => {
    const random = seededRandom(range);
    for (let walk = 0; walk < 50; walk++) {
      const unwrapper = make();
      let trueValue = randomInt(random, 0, range - 1);
      const firstValue = trueValue;
      unwrapper.unwrap(trueValue);
      const maxStep = Math.floor(range / 2) - 1;
      for (let i = 0; i < 2_000; i++) {
        // Mostly forward, sometimes backward (reordering); always less than half the range from the last value.
        const step = random() < 0.8 ? randomInt(random, 0, maxStep) : -randomInt(random, 0, maxStep);
        trueValue += step;
        const unwrapped = unwrapper.unwrap(((trueValue % range) + range) % range);
        assert.deepEqual(unwrapped - firstValue, trueValue - firstValue, `walk ${walk} step ${i}`);
      }
    }
  });

  Deno.test(`${name} is strictly increasing for a forward-only walk`, () => {
    const random = seededRandom(range + 1);
    const unwrapper = make();
    let trueValue = range - 100;
    let previous = unwrapper.unwrap(trueValue);
    for (let i = 0; i < 10_000; i++) {
      trueValue += randomInt(random, 1, Math.min(3000, range / 2 - 1));
      const unwrapped = unwrapper.unwrap(trueValue % range);
      assert.deepEqual(unwrapped > previous, true, `step ${i}`);
      previous = unwrapped;
    }
  });
}
