import assert from "node:assert/strict";
import { Catalog, type RecordingInput } from "../catalog/mod.ts";
import { settleInterrupted } from "./recording_events.ts";

function interrupted(recordId: string, state: RecordingInput["state"]): RecordingInput {
  return {
    recordId,
    stream: "cam",
    recordDir: `cam/${recordId}`,
    mpdPath: `cam/${recordId}/manifest.mpd`,
    hlsPath: "",
    mp4Path: undefined,
    tsPath: undefined,
    flvPath: undefined,
    startedAt: "2026-11-21T10:00:00.000Z",
    endedAt: undefined,
    durationS: 3,
    state,
    sizeBytes: 1024,
    segments: 2,
    codecs: ["avc1.42e01f", "opus"],
    nodeAlias: undefined,
    periods: 1,
  };
}

Deno.test("settleInterrupted finishes rows a crash left open, with recovered durations, and leaves pending ones", () => {
  const catalog = Catalog.open(":memory:", { nowMs: () => Date.UTC(2026, 10, 21, 11) });
  catalog.upsert(interrupted("r1", "recording"));
  catalog.upsert(interrupted("r2", "waiting"));
  catalog.upsert(interrupted("r3", "recording"));
  catalog.upsert({ ...interrupted("r4", "finished"), endedAt: "2026-11-21T10:30:00.000Z" });
  const now = "2026-11-21T11:00:00.000Z";
  const settled = settleInterrupted(catalog, undefined, new Map([["r1", 7.5]]), new Set(["r3"]), now);
  assert.equal(settled, 2);
  const states = ["r1", "r2", "r3", "r4"].map((id) => {
    const row = catalog.get(id)!;
    return [id, row.state, row.durationS, row.endedAt];
  });
  assert.deepEqual(states, [
    ["r1", "finished", 7.5, now],
    ["r2", "finished", 3, now],
    ["r3", "recording", 3, undefined],
    ["r4", "finished", 3, "2026-11-21T10:30:00.000Z"],
  ]);
});
