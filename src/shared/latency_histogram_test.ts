import assert from "node:assert/strict";
import { LatencyHistogram } from "./latency_histogram.ts";

Deno.test("a latency histogram counts each observation in its bucket and every wider one, with count and sum", () => {
  const histogram = new LatencyHistogram();
  assert.deepEqual(histogram.snapshot().buckets.every(([, n]) => n === 0), true, "empty");
  for (const ms of [0.05, 0.1, 3, 3, 40, 20_000]) histogram.observeMs(ms);
  const { buckets, count, sumS } = histogram.snapshot();
  const at = (bound: number) => buckets.find(([b]) => b === bound)?.[1];
  assert.equal(at(0.0001), 2, "0.05 and 0.1 ms are at or below 100 µs");
  assert.equal(at(0.0025), 2);
  assert.equal(at(0.005), 4, "two of 3 ms");
  assert.equal(at(0.05), 5, "40 ms");
  assert.equal(at(10), 5, "20 s is beyond every bound: only in the count (the +Inf bucket)");
  assert.equal(count, 6);
  assert.ok(Math.abs(sumS - 20.04615) < 1e-9, String(sumS));
  const counts = buckets.map(([, n]) => n);
  assert.deepEqual(counts, [...counts].sort((a, b) => a - b), "cumulative");
});
