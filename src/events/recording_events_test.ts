import assert from "node:assert/strict";
import { Catalog, type RecordingInput } from "../catalog/mod.ts";
import type { RuleSettings } from "../config/mod.ts";
import type { RecordingView, StoredSegment } from "../recorder/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";
import { recordingEvents, settleInterrupted } from "./recording_events.ts";

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

function view(recordId: string, segments: number, state: RecordingView["state"] = "recording"): RecordingView {
  return {
    recordId,
    streamId: "cam",
    recordDir: `cam/${recordId}`,
    mpdPath: `cam/${recordId}/manifest.mpd`,
    hlsPath: undefined,
    tsPath: undefined,
    formatProblems: [],
    flvPath: undefined,
    state,
    startedAt: "2026-11-21T10:00:00.000Z",
    endedAt: undefined,
    durationS: 6 * segments,
    periods: 1,
    segments,
    sizeBytes: 1000 * segments,
    codecs: ["avc1.42e01f"],
    storageErrors: 0,
    lastStorageError: undefined,
    reason: "api",
    settings: {} as RuleSettings, // not read for these events
    spliceDeadline: undefined,
    stats: undefined,
    videoSize: undefined,
  };
}

Deno.test("segment updates of the index wait and share one commit; a change of state is written at once", async () => {
  const catalog = Catalog.open(":memory:", { nowMs: () => Date.UTC(2026, 10, 21, 11) });
  const { observer, idle } = recordingEvents({
    catalog,
    outbox: undefined,
    files: {} as RecordingFiles, // read only when a recording with format "mp4" finishes
    log: () => {},
    nodeAlias: undefined,
  });
  const segment: StoredSegment = { recordId: "", track: "video", key: "", number: 0, durationS: 6, sizeBytes: 1000 };
  observer.started!(view("r1", 0));
  observer.started!(view("r2", 0));
  observer.segment!(view("r1", 1), segment);
  observer.segment!(view("r1", 2), segment);
  observer.segment!(view("r2", 1), segment);
  assert.deepEqual([catalog.get("r1")!.segments, catalog.get("r2")!.segments], [0, 0], "not written yet");
  observer.waiting!(view("r2", 1, "waiting"));
  assert.deepEqual([catalog.get("r2")!.state, catalog.get("r2")!.segments], ["waiting", 1]);
  await idle(); // writes what waits (the grid point would have, within a second)
  assert.deepEqual([catalog.get("r1")!.segments, catalog.get("r1")!.sizeBytes], [2, 2000]);
  assert.deepEqual([catalog.get("r2")!.state, catalog.get("r2")!.segments], ["waiting", 1]);
});
