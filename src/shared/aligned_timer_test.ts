import assert from "node:assert/strict";
import { msToFirstGridPoint, msToNextGridPoint, setAlignedInterval } from "./aligned_timer.ts";

Deno.test("a timer fired late or early counts as at its grid point, and waits for the next one", () => {
  assert.equal(msToNextGridPoint(100, 1_000_000), 100);
  assert.equal(msToNextGridPoint(100, 1_000_003), 97, "3 ms late");
  assert.equal(msToNextGridPoint(100, 999_998), 102, "2 ms early: not again at once");
  assert.equal(msToNextGridPoint(1000, 1_000_400), 600);
  assert.equal(msToFirstGridPoint(500, 1_000_200), 300);
  assert.equal(msToFirstGridPoint(500, 1_000_000), 500);
});

Deno.test("aligned intervals of 100 ms and 500 ms fire together at the multiples of 500 ms", async () => {
  const fired: { periodMs: number; atMs: number; tickMs: number }[] = [];
  const intervals = [100, 500].map((periodMs) =>
    setAlignedInterval(() => fired.push({ periodMs, atMs: Date.now(), tickMs: performance.now() }), periodMs)
  );
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  for (const interval of intervals) interval.clear();
  const slow = fired.filter((f) => f.periodMs === 500);
  assert.ok(slow.length >= 2, `500 ms timer fired ${slow.length} times`);
  for (const { atMs, tickMs } of slow) {
    assert.ok(atMs % 500 < 250, `fired ${atMs % 500} ms after a multiple of 500 ms`);
    const nearest = Math.min(...fired.filter((f) => f.periodMs === 100).map((f) => Math.abs(f.tickMs - tickMs)));
    assert.ok(nearest < 1, `the 100 ms timer fired in the same wake-up (${nearest} ms apart)`);
  }
  assert.ok(fired.filter((f) => f.periodMs === 100).length >= 10);
});
