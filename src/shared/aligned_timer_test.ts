import assert from "node:assert/strict";
import { atNextGridPoint, type GridTimer, nextGridPointMs, setAlignedInterval } from "./aligned_timer.ts";

Deno.test("a callback run a little late or early counts as at its grid point, and waits for the next one", () => {
  assert.equal(nextGridPointMs(100, 1_000_000), 1_000_100);
  assert.equal(nextGridPointMs(100, 1_000_003), 1_000_100, "3 ms late");
  assert.equal(nextGridPointMs(100, 999_998), 1_000_100, "2 ms early: not again at once");
  assert.equal(nextGridPointMs(1000, 1_000_400), 1_001_000);
});

Deno.test("timers of 100 ms and 500 ms on the grid run in the same timer turn at the multiples of 500 ms", async () => {
  const fired: number[] = [];
  /** The last two callbacks at the end of each timer turn a 500 ms callback ran in (a microtask runs after it). */
  const turns: number[][] = [];
  const fast = setAlignedInterval(() => fired.push(100), 100);
  const slow = setAlignedInterval(() => {
    fired.push(500);
    queueMicrotask(() => turns.push(fired.slice(-2).toSorted()));
  }, 500);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  fast.clear();
  slow.clear();
  assert.ok(turns.length >= 2, `the 500 ms timer ran ${turns.length} times`);
  for (const turn of turns) assert.deepEqual(turn, [100, 500], "both ran for the grid point, in one turn");
  assert.ok(fired.filter((periodMs) => periodMs === 100).length >= 10);
});

Deno.test("a timer cleared before its grid point does not run, and one that throws does not stop the others", async () => {
  const ran: string[] = [];
  atNextGridPoint(100, () => ran.push("kept"));
  atNextGridPoint(100, () => ran.push("cleared")).clear();
  const errors: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    errors.push(event.error);
  };
  globalThis.addEventListener("error", onError);
  atNextGridPoint(100, () => {
    throw new Error("boom");
  });
  atNextGridPoint(100, () => ran.push("after the throw"));
  await new Promise((resolve) => setTimeout(resolve, 250));
  globalThis.removeEventListener("error", onError);
  assert.deepEqual(ran.toSorted(), ["after the throw", "kept"]);
  assert.equal(errors.length, 1, "the error is thrown all the same");
});

Deno.test("a callback that clears a timer due at the same grid point keeps it from running", async () => {
  const ran: string[] = [];
  let second: GridTimer | undefined = undefined;
  atNextGridPoint(100, () => {
    ran.push("first");
    second?.clear();
  });
  second = atNextGridPoint(100, () => ran.push("second"));
  await new Promise((resolve) => setTimeout(resolve, 250));
  assert.deepEqual(ran, ["first"]);
});
