import assert from "node:assert/strict";
import { planRetention, type RetentionRow } from "./retention_plan.ts";

const HOUR_MS = 3_600_000;
const NOW_MS = Date.UTC(2026, 11, 6, 12);

/** A recording that started `hoursAgo` and lasted an hour, of `mb` MB. */
function row(id: string, hoursAgo: number, mb: number, extra: Partial<RetentionRow> = {}): RetentionRow {
  const startedAtMs = NOW_MS - hoursAgo * HOUR_MS;
  return {
    recordId: id,
    finished: true,
    startedAtMs,
    endedAtMs: startedAtMs + HOUR_MS,
    sizeBytes: mb * 1e6,
    retainDays: undefined,
    ...extra,
  };
}

Deno.test("retention deletes recordings past their retain_days, by end time, and keeps the rest", () => {
  const rows = [
    row("a", 50, 10, { retainDays: 2 }), // ended 49 h ago: past 2 days
    row("b", 30, 10, { retainDays: 1 }), // ended 29 h ago: past 1 day
    row("c", 20, 10, { retainDays: 1 }), // ended 19 h ago: kept
    row("d", 500, 10), // no retain_days: kept
    row("e", 40, 10, { retainDays: 1, finished: false, endedAtMs: undefined }), // running: never
  ];
  const plan = planRetention(rows, { maxBytes: undefined, disk: undefined }, NOW_MS);
  assert.deepEqual(plan, {
    deletions: [{ recordId: "a", reason: "retain_days" }, { recordId: "b", reason: "retain_days" }],
    stillOver: undefined,
  });
});

Deno.test("over max_bytes, the oldest finished recordings go first until the total fits", () => {
  const rows = [row("new", 1, 30), row("old", 9, 30), row("mid", 5, 30), row("live", 0, 30, { finished: false })];
  assert.deepEqual(planRetention(rows, { maxBytes: 70e6, disk: undefined }, NOW_MS), {
    deletions: [{ recordId: "old", reason: "max_bytes" }, { recordId: "mid", reason: "max_bytes" }],
    stillOver: undefined,
  });
  assert.deepEqual(planRetention(rows, { maxBytes: 120e6, disk: undefined }, NOW_MS).deletions, []);
});

Deno.test("below min_free_disk, the oldest go until enough is free; a running recording is never taken", () => {
  const rows = [row("a", 3, 20), row("b", 2, 20), row("live", 1, 50, { finished: false })];
  const disk = (freeMb: number, minMb: number) => ({ freeBytes: freeMb * 1e6, minFreeBytes: minMb * 1e6 });
  assert.deepEqual(planRetention(rows, { maxBytes: undefined, disk: disk(5, 20) }, NOW_MS), {
    deletions: [{ recordId: "a", reason: "min_free_disk" }],
    stillOver: undefined,
  });
  const full = planRetention(rows, { maxBytes: undefined, disk: disk(5, 100) }, NOW_MS);
  assert.deepEqual(full.deletions.map((d) => d.recordId), ["a", "b"]);
  assert.equal(full.stillOver, "min_free_disk", "nothing more may go: the on_full policy decides");
});

Deno.test("age goes first, then size; a recording deleted for its age is not counted twice", () => {
  const rows = [row("aged", 100, 40, { retainDays: 1 }), row("older", 10, 40), row("newer", 5, 40)];
  assert.deepEqual(planRetention(rows, { maxBytes: 50e6, disk: undefined }, NOW_MS), {
    deletions: [{ recordId: "aged", reason: "retain_days" }, { recordId: "older", reason: "max_bytes" }],
    stillOver: undefined,
  });
});
