import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BadRequestError, ConflictError, StorageError } from "../shared/errors.ts";
import { Catalog, CATALOG_SCHEMA_VERSION, type RecordingInput } from "./catalog.ts";
import {
  ackRequestFromJson,
  deleteKeysFromJson,
  listFilterFromQuery,
  recordingJson,
  syncPageJson,
  syncQueryFromQuery,
  syncSessionJson,
} from "./catalog_json.ts";

const T0 = Date.parse("2025-07-24T10:00:00.000Z");

function fakeClock(startMs = T0) {
  const clock = { ms: startMs, nowMs: () => clock.ms };
  return clock;
}

function recording(recordId: string, overrides: Partial<RecordingInput> = {}): RecordingInput {
  const stream = overrides.stream ?? "cam";
  return {
    recordId,
    stream,
    recordDir: `${stream}/${recordId}`,
    mpdPath: `${stream}/${recordId}/manifest.mpd`,
    hlsPath: `${stream}/${recordId}/index.m3u8`,
    mp4Path: undefined,
    tsPath: undefined,
    flvPath: undefined,
    startedAt: "2025-07-24T10:00:00.000Z",
    endedAt: undefined,
    durationS: 0,
    state: "recording",
    sizeBytes: 0,
    segments: 0,
    codecs: ["avc1.42e01f", "opus"],
    nodeAlias: undefined,
    periods: 1,
    ...overrides,
  };
}

function finished(input: RecordingInput, endedAt: string, durationS: number): RecordingInput {
  return { ...input, state: "finished", endedAt, durationS, sizeBytes: 4096, segments: 3, mp4Path: "x/rec.mp4" };
}

/** Turns a version 3 file into what version 2 wrote. */
const WITHOUT_V3 = "DROP INDEX recordings_by_liveman_id; ALTER TABLE recordings DROP COLUMN liveman_id; " +
  "ALTER TABLE recordings DROP COLUMN sync_removed";

function openMemory(clock = fakeClock()) {
  return { clock, catalog: Catalog.open(":memory:", clock) };
}

function ids(rows: readonly { recordId: string }[]): string[] {
  return rows.map((row) => row.recordId);
}

function syncIds(catalog: Catalog, sinceTs?: number): string[] {
  return catalog.changes(sinceTs === undefined ? {} : { sinceTs }).changes.map((change) => change.row.recordId);
}

Deno.test("Catalog round-trips a row and stamps updatedAt from the clock", () => {
  const { catalog } = openMemory();
  const input = recording("r1", { nodeAlias: "node-1", mp4Path: "cam/r1/rec.mp4", durationS: 12.5, sizeBytes: 1234 });
  const stored = catalog.upsert(input);
  assert.deepEqual(stored, {
    ...input,
    livemanId: Date.parse(input.startedAt) / 1000,
    updatedAt: "2025-07-24T10:00:00.000Z",
  });
  assert.deepEqual(catalog.get("r1"), stored);
  assert.equal(catalog.get("missing"), undefined);
  const bare = catalog.upsert(recording("r2"));
  assert.equal(bare.mp4Path, undefined);
  assert.equal(bare.nodeAlias, undefined);
  assert.equal(bare.endedAt, undefined);
  catalog.close();
});

Deno.test("Catalog upsert updates by recordId; an identical upsert is not a change", () => {
  const { catalog, clock } = openMemory();
  const input = recording("r1");
  catalog.upsert(input);
  const first = catalog.changes().changes[0]!;
  clock.ms += 5_000;
  assert.equal(catalog.upsert(input).updatedAt, "2025-07-24T10:00:00.000Z");
  assert.equal(catalog.changes().changes[0]!.changeTs, first.changeTs);
  const grown = catalog.upsert({ ...input, segments: 2, sizeBytes: 900, durationS: 4 });
  assert.equal(grown.updatedAt, "2025-07-24T10:00:05.000Z");
  assert.equal(grown.segments, 2);
  assert.ok(catalog.changes().changes[0]!.changeTs > first.changeTs);
  assert.equal(catalog.list().length, 1);
});

Deno.test("Catalog normalises times to UTC ISO with milliseconds", () => {
  const { catalog } = openMemory();
  const row = catalog.upsert(recording("r1", { startedAt: "2025-07-24T18:00:00+08:00", endedAt: "2025-07-24T10:05Z" }));
  assert.equal(row.startedAt, "2025-07-24T10:00:00.000Z");
  assert.equal(row.endedAt, "2025-07-24T10:05:00.000Z");
});

Deno.test("Catalog upsert of a malformed row is a bug (assert), not bad input", () => {
  const { catalog } = openMemory();
  assert.throws(() => catalog.upsert(recording("r1", { startedAt: "yesterday" })), /bug: startedAt/);
  assert.throws(() => catalog.upsert(recording("r1", { segments: -1 })), /bug: bad segments -1/);
  assert.throws(() => catalog.upsert(recording("")), /bug: recordId is empty/);
  assert.equal(catalog.get("r1"), undefined);
});

Deno.test("Catalog lists newest start first, ties broken by record id", () => {
  const { catalog } = openMemory();
  catalog.upsert(recording("b", { startedAt: "2025-07-24T09:00:00.000Z" }));
  catalog.upsert(recording("c", { startedAt: "2025-07-24T11:00:00.000Z" }));
  catalog.upsert(recording("a", { startedAt: "2025-07-24T11:00:00.000Z" }));
  catalog.upsert(recording("d", { startedAt: "2025-07-23T23:00:00.000Z" }));
  assert.deepEqual(ids(catalog.list()), ["c", "a", "b", "d"]);
});

Deno.test("Catalog list filters by stream and state, with values bound rather than spliced into SQL", () => {
  const { catalog } = openMemory();
  catalog.upsert(recording("r1", { stream: "cam" }));
  catalog.upsert(finished(recording("r2", { stream: "cam" }), "2025-07-24T10:01:00.000Z", 60));
  catalog.upsert(recording("r3", { stream: "door", state: "waiting" }));
  assert.deepEqual(ids(catalog.list({ stream: "cam" })).sort(), ["r1", "r2"]);
  assert.deepEqual(ids(catalog.list({ state: "finished" })), ["r2"]);
  assert.deepEqual(ids(catalog.list({ stream: "door", state: "waiting" })), ["r3"]);
  assert.deepEqual(ids(catalog.list({ stream: "cam", state: "waiting" })), []);
  assert.deepEqual(catalog.list({ stream: "cam' OR '1'='1" }), []);
});

Deno.test("Catalog list selects recordings whose [start, end or now] overlaps [from, to]", () => {
  const { catalog, clock } = openMemory();
  // morning: 08:00-09:00, noon: 12:00-12:30, live: 13:00-now (14:00).
  catalog.upsert(
    finished(recording("morning", { startedAt: "2025-07-24T08:00:00.000Z" }), "2025-07-24T09:00:00.000Z", 3600),
  );
  catalog.upsert(
    finished(recording("noon", { startedAt: "2025-07-24T12:00:00.000Z" }), "2025-07-24T12:30:00.000Z", 1800),
  );
  catalog.upsert(recording("live", { startedAt: "2025-07-24T13:00:00.000Z" }));
  clock.ms = Date.parse("2025-07-24T14:00:00.000Z");
  const cases: { from?: string; to?: string; want: string[] }[] = [
    { from: "2025-07-24T08:30:00Z", to: "2025-07-24T08:40:00Z", want: ["morning"] },
    { from: "2025-07-24T09:00:00Z", to: "2025-07-24T12:00:00Z", want: ["noon", "morning"] },
    { from: "2025-07-24T09:00:01Z", to: "2025-07-24T11:59:59Z", want: [] },
    { from: "2025-07-24T13:30:00Z", want: ["live"] },
    { from: "2025-07-24T14:00:00Z", want: ["live"] },
    { from: "2025-07-24T14:00:01Z", want: [] },
    { to: "2025-07-24T08:00:00Z", want: ["morning"] },
    { to: "2025-07-24T07:59:59.999Z", want: [] },
    { from: "2025-07-24T10:00:00+02:00", to: "2025-07-24T10:00:00+02:00", want: ["morning"] },
  ];
  for (const { from, to, want } of cases) {
    const filter = { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
    assert.deepEqual(ids(catalog.list(filter)), want, JSON.stringify(filter));
  }
});

Deno.test("Catalog list pages with limit and offset (default 100)", () => {
  const { catalog } = openMemory();
  for (let i = 0; i < 105; i++) {
    const name = `r${String(i).padStart(3, "0")}`;
    catalog.upsert(recording(name, { startedAt: new Date(T0 + i * 60_000).toISOString() }));
  }
  const all = catalog.list({ limit: 1000 });
  assert.equal(all.length, 105);
  assert.equal(all[0]!.recordId, "r104");
  assert.equal(catalog.list().length, 100);
  assert.deepEqual(ids(catalog.list({ limit: 3 })), ["r104", "r103", "r102"]);
  assert.deepEqual(ids(catalog.list({ limit: 3, offset: 3 })), ["r101", "r100", "r099"]);
  assert.deepEqual(ids(catalog.list({ limit: 10, offset: 100 })), ["r004", "r003", "r002", "r001", "r000"]);
  assert.deepEqual(catalog.list({ offset: 105 }), []);
});

Deno.test("Catalog list rejects bad limit, offset, from, to, state and stream with a BadRequestError naming the value", () => {
  const { catalog } = openMemory();
  const cases: { filter: Record<string, unknown>; message: string }[] = [
    { filter: { limit: 0 }, message: "limit must be an integer between 1 and 1000, got 0" },
    { filter: { limit: 1001 }, message: "limit must be an integer between 1 and 1000, got 1001" },
    { filter: { limit: 2.5 }, message: "limit must be an integer between 1 and 1000, got 2.5" },
    { filter: { limit: NaN }, message: "limit must be an integer between 1 and 1000, got NaN" },
    { filter: { offset: -1 }, message: "offset must be a non-negative integer, got -1" },
    { filter: { offset: 0.5 }, message: "offset must be a non-negative integer, got 0.5" },
    {
      filter: { from: "yesterday" },
      message: 'from must be an ISO 8601 date-time with a time zone (e.g. 2025-07-24T10:00:00Z), got "yesterday"',
    },
    { filter: { to: "2025-07-24T10:00:00" }, message: 'got "2025-07-24T10:00:00"' },
    { filter: { from: "2025-02-30T00:00:00Z" }, message: 'got "2025-02-30T00:00:00Z"' },
    { filter: { to: "2025-07-24T24:00:00Z" }, message: 'got "2025-07-24T24:00:00Z"' },
    {
      filter: { from: "2025-07-24T11:00:00Z", to: "2025-07-24T10:00:00Z" },
      message: "from (2025-07-24T11:00:00Z) must not be after to (2025-07-24T10:00:00Z)",
    },
    {
      filter: { state: "paused" },
      message: 'state must be one of recording, waiting, finished, failed, got "paused"',
    },
    { filter: { stream: "" }, message: 'stream must be a non-empty string, got ""' },
  ];
  for (const { filter, message } of cases) {
    assert.throws(
      () => catalog.list(filter as never),
      (error: unknown) => error instanceof BadRequestError && error.message.includes(message),
      JSON.stringify(filter),
    );
  }
});

Deno.test("Catalog sync lists unacknowledged changes oldest first with a cursor that pages exactly", () => {
  const { catalog, clock } = openMemory();
  // Five changes inside one clock millisecond still get five distinct, increasing versions.
  for (const name of ["r1", "r2", "r3", "r4", "r5"]) catalog.upsert(recording(name));
  const first = catalog.changes({ limit: 2 });
  assert.deepEqual(first.changes.map((change) => change.row.recordId), ["r1", "r2"]);
  assert.equal(first.changes[0]!.changeTs, T0 * 1000);
  assert.equal(first.lastTs, first.changes[1]!.changeTs);
  const second = catalog.changes({ sinceTs: first.lastTs!, limit: 2 });
  assert.deepEqual(second.changes.map((change) => change.row.recordId), ["r3", "r4"]);
  const third = catalog.changes({ sinceTs: second.lastTs!, limit: 2 });
  assert.deepEqual(third.changes.map((change) => change.row.recordId), ["r5"]);
  const empty = catalog.changes({ sinceTs: third.lastTs! });
  assert.deepEqual(empty, { changes: [], lastTs: undefined });
  // An update moves the row behind the cursor again.
  clock.ms += 1;
  catalog.upsert(recording("r2", { segments: 1 }));
  assert.deepEqual(syncIds(catalog, third.lastTs!), ["r2"]);
  assert.deepEqual(syncIds(catalog), ["r1", "r3", "r4", "r5", "r2"]);
});

Deno.test("Catalog sync filters by stream and validates since_ts and limit", () => {
  const { catalog } = openMemory();
  catalog.upsert(recording("r1", { stream: "cam" }));
  catalog.upsert(recording("r2", { stream: "door" }));
  assert.deepEqual(catalog.changes({ stream: "door" }).changes.map((change) => change.row.recordId), ["r2"]);
  assert.throws(() => catalog.changes({ sinceTs: -1 }), BadRequestError);
  assert.throws(() => catalog.changes({ sinceTs: 1.5 }), /since_ts must be a non-negative integer/);
  assert.throws(() => catalog.changes({ limit: 0 }), /limit must be an integer between 1 and 1000, got 0/);
});

Deno.test("Catalog versions stay strictly increasing when the clock steps back", () => {
  const { catalog, clock } = openMemory();
  catalog.upsert(recording("r1"));
  clock.ms -= 60_000;
  const stepped = catalog.upsert(recording("r2"));
  assert.equal(stepped.updatedAt, new Date(clock.ms).toISOString(), "updatedAt is the clock's time");
  const [a, b] = catalog.changes().changes;
  assert.deepEqual([a!.row.recordId, b!.row.recordId], ["r1", "r2"]);
  assert.equal(b!.changeTs, a!.changeTs + 1);
});

Deno.test("Catalog sync: a recording acked while active comes back with its final state when it finishes (live777 loses it)", () => {
  const { catalog, clock } = openMemory();
  const active = recording("r1", { nodeAlias: "node-1" });
  catalog.upsert(active);
  // Liveman's round: pull, ack, delete (liveman/src/tick.rs do_record_sync).
  const pulled = catalog.changes();
  assert.deepEqual(pulled.changes.map((change) => change.row.state), ["recording"]);
  assert.equal(catalog.ack({ keys: [{ stream: "cam", recordId: "r1" }] }), 1);
  assert.equal(
    catalog.removeAckedFromSync([{ stream: "cam", recordId: "r1" }]),
    0,
    "an active recording is never deleted",
  );
  assert.deepEqual(syncIds(catalog, pulled.lastTs!), []);
  clock.ms += 90_000;
  catalog.upsert(finished(active, "2025-07-24T10:01:30.000Z", 90));
  const next = catalog.changes({ sinceTs: pulled.lastTs! });
  assert.equal(next.changes.length, 1);
  const row = next.changes[0]!.row;
  assert.deepEqual([row.state, row.endedAt, row.durationS], ["finished", "2025-07-24T10:01:30.000Z", 90]);
  assert.equal(catalog.ack({ keys: [{ stream: "cam", recordId: "r1" }] }), 1);
  assert.equal(catalog.removeAckedFromSync([{ stream: "cam", recordId: "r1" }]), 1);
  // Out of Liveman's feed, still in liverec's catalog.
  assert.deepEqual(syncIds(catalog), []);
  assert.equal(catalog.get("r1")?.state, "finished");
  assert.deepEqual(ids(catalog.list()), ["r1"]);
});

Deno.test("Catalog sync: a finish landing between pull and a versionless ack stays unacknowledged", () => {
  const { catalog, clock } = openMemory();
  const active = recording("r1");
  catalog.upsert(active);
  const pulled = catalog.changes();
  clock.ms += 1_000;
  catalog.upsert(finished(active, "2025-07-24T10:00:01.000Z", 1));
  // Stock Liveman acks by key only: that acknowledges what it was delivered, not the finish it never saw.
  assert.equal(catalog.ack({ keys: [{ recordId: "r1" }] }), 0);
  assert.equal(catalog.removeAckedFromSync([{ recordId: "r1" }]), 0);
  const again = catalog.changes({ sinceTs: pulled.lastTs! });
  assert.deepEqual(again.changes.map((change) => change.row.state), ["finished"]);
  // An ack naming the page's version behaves the same: the newer finish is not covered.
  clock.ms += 1_000;
  catalog.upsert(finished(active, "2025-07-24T10:00:02.000Z", 2));
  assert.equal(catalog.ack({ keys: [{ recordId: "r1" }], upToTs: again.lastTs! }), 0);
  const last = catalog.changes();
  assert.equal(last.changes[0]!.row.durationS, 2);
  assert.equal(catalog.ack({ keys: [{ recordId: "r1" }], upToTs: last.lastTs! }), 1);
  assert.deepEqual(syncIds(catalog), []);
});

Deno.test("Catalog ack ignores unknown ids, mismatched streams and undelivered rows, and is idempotent", () => {
  const { catalog } = openMemory();
  catalog.upsert(recording("r1", { stream: "cam" }));
  catalog.upsert(recording("r2", { stream: "cam" }));
  catalog.changes({ limit: 1 });
  assert.equal(catalog.ack({ keys: [{ recordId: "nope" }, { recordId: "r1", stream: "door" }] }), 0);
  assert.equal(catalog.ack({ keys: [{ recordId: "r2" }] }), 0, "r2 was never delivered");
  assert.equal(catalog.ack({ keys: [{ recordId: "r1", stream: "cam" }] }), 1);
  assert.equal(catalog.ack({ keys: [{ recordId: "r1", stream: "cam" }] }), 0, "already acknowledged");
  assert.deepEqual(syncIds(catalog), ["r2"]);
});

Deno.test("Catalog cursor ack acknowledges every change up to a version, optionally of one stream", () => {
  const { catalog } = openMemory();
  catalog.upsert(recording("r1", { stream: "cam" }));
  catalog.upsert(recording("r2", { stream: "door" }));
  catalog.upsert(recording("r3", { stream: "cam" }));
  const camPage = catalog.changes({ stream: "cam", limit: 1 });
  assert.equal(catalog.ack({ upToTs: camPage.lastTs!, stream: "cam" }), 1);
  assert.deepEqual(syncIds(catalog), ["r2", "r3"]);
  const all = catalog.changes();
  assert.equal(catalog.ack({ upToTs: all.lastTs! }), 2);
  assert.deepEqual(syncIds(catalog), []);
  assert.throws(() => catalog.ack({}), /an ack needs records or up_to_ts/);
});

Deno.test("Catalog removeAckedFromSync leaves rows changed since their ack and rows never acked in the feed", () => {
  const { catalog, clock } = openMemory();
  catalog.upsert(finished(recording("done"), "2025-07-24T10:01:00.000Z", 60));
  catalog.upsert(finished(recording("rechanged"), "2025-07-24T10:01:00.000Z", 60));
  catalog.upsert(finished(recording("unacked"), "2025-07-24T10:01:00.000Z", 60));
  catalog.upsert(recording("active"));
  catalog.changes();
  catalog.ack({ keys: [{ recordId: "done" }, { recordId: "rechanged" }, { recordId: "active" }] });
  clock.ms += 1_000;
  catalog.upsert({ ...finished(recording("rechanged"), "2025-07-24T10:01:00.000Z", 60), mp4Path: "cam/new.mp4" });
  const keys = ["done", "rechanged", "unacked", "active"].map((recordId) => ({ recordId }));
  assert.equal(catalog.removeAckedFromSync(keys), 1);
  assert.deepEqual(ids(catalog.list()).sort(), ["active", "done", "rechanged", "unacked"]);
  assert.deepEqual(syncIds(catalog), ["unacked", "rechanged"]);
  assert.equal(catalog.removeAckedFromSync(), 0);
  assert.equal(catalog.removeAckedFromSync(keys), 0, "already out of the feed");
});

Deno.test("Catalog: a row taken out of the sync after its ack and changed again is back in the sync", () => {
  const { catalog, clock } = openMemory();
  const done = finished(recording("r1"), "2025-07-24T10:01:00.000Z", 60);
  catalog.upsert(done);
  const page = catalog.changes();
  catalog.ack({ upToTs: page.lastTs! });
  assert.equal(catalog.removeAckedFromSync(), 1);
  clock.ms += 1_000;
  catalog.upsert({ ...done, mp4Path: "cam/r1/late.mp4" });
  const again = catalog.changes({ sinceTs: page.lastTs! });
  assert.deepEqual(again.changes.map((change) => change.row.mp4Path), ["cam/r1/late.mp4"]);
});

Deno.test("Catalog gives each recording a Liveman id, its start in Unix seconds, unique per stream", () => {
  const { catalog } = openMemory();
  const second = Date.parse("2025-07-24T10:00:00Z") / 1000;
  const first = catalog.upsert(recording("r1", { startedAt: "2025-07-24T10:00:00.100Z" }));
  const sameSecond = catalog.upsert(recording("r2", { startedAt: "2025-07-24T10:00:00.900Z" }));
  const otherStream = catalog.upsert(recording("r3", { stream: "door", startedAt: "2025-07-24T10:00:00.500Z" }));
  assert.deepEqual([first.livemanId, sameSecond.livemanId, otherStream.livemanId], [second, second + 1, second]);
  assert.equal(catalog.upsert({ ...recording("r1"), state: "finished" }).livemanId, second, "kept on update");

  // Either id names a recording; a start second alone must not be shared by several streams.
  assert.equal(catalog.find("r2")?.recordId, "r2");
  assert.equal(catalog.find(String(second + 1))?.recordId, "r2");
  assert.equal(catalog.find(String(second), "door")?.recordId, "r3");
  assert.equal(catalog.find("r1", "door"), undefined);
  assert.equal(catalog.find(String(second - 1)), undefined);
  assert.throws(() => catalog.find(String(second)), ConflictError);

  // Liveman's ack and delete name recordings by stream and Liveman id.
  catalog.upsert(finished(recording("r1"), "2025-07-24T10:01:00.000Z", 60));
  catalog.changes();
  assert.equal(catalog.ack({ keys: [{ stream: "cam", recordId: String(second) }] }), 1);
  assert.equal(catalog.ack({ keys: [{ recordId: String(second) }] }), 0, "ambiguous without a stream");
  assert.equal(catalog.removeAckedFromSync([{ stream: "cam", recordId: String(second) }]), 1);
  assert.deepEqual(syncIds(catalog), ["r2", "r3"]);
});

Deno.test("Catalog remove deletes a row whatever its sync state", () => {
  const { catalog } = openMemory();
  catalog.upsert(recording("r1"));
  assert.equal(catalog.remove("r1"), true);
  assert.equal(catalog.remove("r1"), false);
  assert.equal(catalog.get("r1"), undefined);
  assert.deepEqual(syncIds(catalog), []);
});

Deno.test("Catalog file keeps rows, acks and versions across reopen, in WAL mode at the current schema version", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liverec-catalog-" });
  try {
    const path = `${dir}/catalog.db`;
    const clock = fakeClock();
    const first = Catalog.open(path, clock);
    first.upsert(recording("r1", { nodeAlias: "node-1" }));
    first.upsert(recording("r2"));
    const page = first.changes({ limit: 1 });
    first.ack({ keys: [{ recordId: "r1" }] });
    first.close();
    first.close();

    const raw = new DatabaseSync(path);
    assert.deepEqual({ ...raw.prepare("PRAGMA user_version").get() }, { user_version: CATALOG_SCHEMA_VERSION });
    assert.deepEqual({ ...raw.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
    raw.close();

    clock.ms -= 3_600_000;
    const second = Catalog.open(path, clock);
    assert.deepEqual(ids(second.list()).sort(), ["r1", "r2"]);
    assert.equal(second.get("r1")!.nodeAlias, "node-1");
    assert.deepEqual(syncIds(second), ["r2"]);
    second.upsert(recording("r3"));
    const versions = second.changes().changes.map((change) => change.changeTs);
    assert.ok(versions.every((version) => version > page.lastTs!), "versions continue past the ones already issued");
    second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Catalog migrates a version 1 file: its rows stay, and the ts_path and flv_path columns are added", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liverec-catalog-" });
  try {
    const path = `${dir}/catalog.db`;
    const clock = fakeClock();
    const current = Catalog.open(path, clock);
    current.upsert(recording("r1"));
    current.close();
    // Version 1 was version 3 without these three columns.
    const raw = new DatabaseSync(path);
    raw.exec("ALTER TABLE recordings DROP COLUMN ts_path; ALTER TABLE recordings DROP COLUMN flv_path");
    raw.exec(WITHOUT_V3);
    raw.exec("PRAGMA user_version = 1");
    raw.close();
    const migrated = Catalog.open(path, clock);
    assert.deepEqual(ids(migrated.list()), ["r1"]);
    assert.equal(migrated.get("r1")!.tsPath, undefined);
    const row = migrated.upsert(recording("r1", { tsPath: "cam/r1/ts.m3u8", flvPath: "cam/r1/cam.flv" }));
    assert.deepEqual([row.tsPath, row.flvPath], ["cam/r1/ts.m3u8", "cam/r1/cam.flv"]);
    migrated.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Catalog migrates a version 2 file: its rows stay in the catalog and in the sync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liverec-catalog-" });
  try {
    const path = `${dir}/catalog.db`;
    const clock = fakeClock();
    const current = Catalog.open(path, clock);
    current.upsert(finished(recording("r1"), "2025-07-24T10:01:00.000Z", 60));
    current.upsert(recording("r2", { startedAt: "2025-07-24T10:00:00.900Z" }));
    current.upsert(recording("r3", { stream: "door" }));
    current.close();
    const raw = new DatabaseSync(path);
    raw.exec(WITHOUT_V3);
    raw.exec("PRAGMA user_version = 2");
    raw.close();
    const migrated = Catalog.open(path, clock);
    // Liveman ids for the old rows: the start second, one later for a second recording of a stream in that second.
    const second = Date.parse("2025-07-24T10:00:00Z") / 1000;
    assert.deepEqual(["r1", "r2", "r3"].map((id) => migrated.get(id)!.livemanId), [second, second + 1, second]);
    migrated.remove("r2");
    migrated.remove("r3");
    assert.deepEqual(syncIds(migrated), ["r1"]);
    migrated.ack({ upToTs: migrated.changes().lastTs! });
    assert.equal(migrated.removeAckedFromSync(), 1);
    assert.deepEqual([ids(migrated.list()), syncIds(migrated)], [["r1"], []]);
    migrated.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Catalog refuses a file written by a newer schema, and a path it cannot open, with a StorageError", async () => {
  const dir = await Deno.makeTempDir({ prefix: "liverec-catalog-" });
  try {
    const path = `${dir}/future.db`;
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${CATALOG_SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(
      () => Catalog.open(path, fakeClock()),
      (error: unknown) =>
        error instanceof StorageError && /schema version 4, newer than this liverec's 3/.test(error.message),
    );
    assert.throws(() => Catalog.open(`${dir}/missing/dir/catalog.db`, fakeClock()), StorageError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recordingJson answers snake_case with null for absent values, node_alias included", () => {
  const { catalog } = openMemory();
  const row = catalog.upsert(recording("r1"));
  assert.deepEqual(recordingJson(row), {
    record_id: "r1",
    liveman_id: T0 / 1000,
    stream: "cam",
    record_dir: "cam/r1",
    mpd_path: "cam/r1/manifest.mpd",
    hls_path: "cam/r1/index.m3u8",
    mp4_path: null,
    ts_path: null,
    flv_path: null,
    started_at: "2025-07-24T10:00:00.000Z",
    ended_at: null,
    duration_s: 0,
    state: "recording",
    size_bytes: 0,
    segments: 0,
    codecs: ["avc1.42e01f", "opus"],
    node_alias: null,
    periods: 1,
    updated_at: "2025-07-24T10:00:00.000Z",
  });
  assert.equal(recordingJson(catalog.upsert(recording("r2", { nodeAlias: "node-1" }))).node_alias, "node-1");
});

Deno.test("syncPageJson carries live777's RecordingSession fields in µs and ms beside ours", () => {
  const { catalog, clock } = openMemory();
  catalog.upsert(recording("active", { state: "waiting", durationS: 5 }));
  clock.ms += 1;
  catalog.upsert(finished(recording("done"), "2025-07-24T10:01:00.500Z", 60.5));
  catalog.upsert({ ...recording("broken"), state: "failed", endedAt: "2025-07-24T10:00:10.000Z", durationS: 10 });
  const page = catalog.changes();
  const json = syncPageJson(page);
  assert.equal(json.last_ts, page.lastTs);
  const [active, done, broken] = json.sessions;
  assert.deepEqual(
    [active!.id, active!.start_ts, active!.end_ts, active!.duration_ms, active!.status, active!.state],
    [String(T0 / 1000), T0 * 1000, null, null, "Active", "waiting"],
  );
  // live777's id is the start in Unix seconds (one later for a second recording of the stream in that second).
  assert.deepEqual(json.sessions.map((s) => [s.id, s.record_id]), [
    [String(T0 / 1000), "active"],
    [String(T0 / 1000 + 1), "done"],
    [String(T0 / 1000 + 2), "broken"],
  ]);
  assert.deepEqual(
    [done!.start_ts, done!.end_ts, done!.duration_ms, done!.status, done!.mpd_path],
    [T0 * 1000, (T0 + 60_500) * 1000, 60_500, "Completed", "cam/done/manifest.mpd"],
  );
  assert.equal(done!.updated_ts, page.changes[1]!.changeTs);
  assert.equal(done!.node_alias, null);
  assert.deepEqual([broken!.status, broken!.duration_ms], ["Failed", 10_000]);
  assert.deepEqual(syncSessionJson(page.changes[0]!), active);
  assert.deepEqual(syncPageJson({ changes: [], lastTs: undefined }), { sessions: [], last_ts: null });
});

Deno.test("listFilterFromQuery parses the API's query string and rejects bad or unknown parameters", () => {
  assert.deepEqual(
    listFilterFromQuery(
      new URLSearchParams(
        "stream=cam&state=finished&from=2025-07-24T00:00:00Z&to=2025-07-25T00:00:00Z&limit=5&offset=10",
      ),
    ),
    {
      stream: "cam",
      state: "finished",
      from: "2025-07-24T00:00:00Z",
      to: "2025-07-25T00:00:00Z",
      limit: 5,
      offset: 10,
    },
  );
  assert.deepEqual(listFilterFromQuery(new URLSearchParams("")), {});
  const bad: [string, RegExp][] = [
    ["limit=abc", /limit must be a non-negative integer, got "abc"/],
    ["limit=-1", /limit must be a non-negative integer, got "-1"/],
    ["offset=1e3", /offset must be a non-negative integer, got "1e3"/],
    ["state=paused", /state must be one of/],
    ["stream=", /stream must be a non-empty string/],
    ["limt=5", /unknown query parameter "limt" \(allowed: stream, state, node_alias, from, to, limit, offset\)/],
    ["limit=1&limit=2", /query parameter limit is given 2 times/],
  ];
  for (const [query, message] of bad) {
    assert.throws(() => listFilterFromQuery(new URLSearchParams(query)), BadRequestError, query);
    assert.throws(() => listFilterFromQuery(new URLSearchParams(query)), message, query);
  }
  // Range checks on the parsed values are the catalog's, so one message covers both entry points.
  const { catalog } = openMemory();
  assert.throws(() => catalog.list(listFilterFromQuery(new URLSearchParams("limit=0"))), /got 0/);
  assert.throws(() => catalog.list(listFilterFromQuery(new URLSearchParams("from=noon"))), /got "noon"/);
});

Deno.test("syncQueryFromQuery reads live777's pull query; limit=0 means the default as in live777", () => {
  assert.deepEqual(syncQueryFromQuery(new URLSearchParams("stream=cam&since_ts=1721827200000000&limit=200")), {
    stream: "cam",
    sinceTs: 1721827200000000,
    limit: 200,
  });
  assert.deepEqual(syncQueryFromQuery(new URLSearchParams("limit=0")), {});
  assert.throws(() => syncQueryFromQuery(new URLSearchParams("since_ts=soon")), /since_ts must be a non-negative/);
  assert.throws(() => syncQueryFromQuery(new URLSearchParams("from=x")), /unknown query parameter "from"/);
});

Deno.test("ackRequestFromJson and deleteKeysFromJson read live777's bodies plus our up_to_ts", () => {
  assert.deepEqual(ackRequestFromJson({ records: [{ stream: "cam", record: "r1" }, { record_id: "r2" }] }), {
    keys: [{ recordId: "r1", stream: "cam" }, { recordId: "r2" }],
  });
  assert.deepEqual(ackRequestFromJson({ up_to_ts: 42, stream: "cam" }), { upToTs: 42, stream: "cam" });
  assert.deepEqual(deleteKeysFromJson({ records: [{ stream: "cam", record: "r1" }] }), [
    { recordId: "r1", stream: "cam" },
  ]);
  assert.deepEqual(deleteKeysFromJson({ records: [] }), []);
  const bad: [unknown, RegExp][] = [
    [[], /request body must be a JSON object/],
    [{}, /an ack needs "records" or "up_to_ts"/],
    [{ records: "r1" }, /records must be an array/],
    [{ records: [{ stream: "cam" }] }, /records\[0\] needs exactly one of "record" and "record_id"/],
    [{ records: [{ record: "a", record_id: "a" }] }, /needs exactly one of/],
    [{ records: [{ record: "" }] }, /records\[0\]\.record must be a non-empty string/],
    [{ records: [{ record: "a", stream: 7 }] }, /records\[0\]\.stream must be a non-empty string, got 7/],
    [{ records: [{ record: "a", status: "Acked" }] }, /records\[0\] has unknown field\(s\) status/],
    [{ up_to_ts: "9" }, /up_to_ts must be a number, got "9"/],
    [{ up_to_ts: -5 }, /up_to_ts must be a non-negative integer/],
    [{ records: [], extra: 1 }, /unknown field\(s\) extra \(allowed: records, up_to_ts, stream\)/],
  ];
  for (const [body, message] of bad) {
    assert.throws(() => ackRequestFromJson(body), BadRequestError, JSON.stringify(body));
    assert.throws(() => ackRequestFromJson(body), message, JSON.stringify(body));
  }
  assert.throws(() => deleteKeysFromJson({}), /a delete needs "records"/);
  assert.throws(() => deleteKeysFromJson({ records: [{ record: "a" }], up_to_ts: 1 }), /unknown field\(s\) up_to_ts/);
});

Deno.test("Catalog counts its rows by state, every state named", () => {
  const { catalog } = openMemory();
  assert.deepEqual(catalog.countByState(), { recording: 0, waiting: 0, finished: 0, failed: 0 });
  catalog.upsert(recording("r1", { state: "finished" }));
  catalog.upsert(recording("r2", { state: "finished", startedAt: "2025-07-24T11:00:00.000Z" }));
  catalog.upsert(recording("r3", { state: "recording", startedAt: "2025-07-24T12:00:00.000Z" }));
  catalog.upsert(recording("r4", { state: "failed", startedAt: "2025-07-24T13:00:00.000Z" }));
  assert.deepEqual(catalog.countByState(), { recording: 1, waiting: 0, finished: 2, failed: 1 });
  catalog.close();
});

Deno.test("Catalog lists by node alias", () => {
  const { catalog } = openMemory();
  catalog.upsert(recording("r1", { nodeAlias: "edge-1" }));
  catalog.upsert(recording("r2", { nodeAlias: "edge-2", startedAt: "2025-07-24T11:00:00.000Z" }));
  catalog.upsert(recording("r3", { startedAt: "2025-07-24T12:00:00.000Z" }));
  assert.deepEqual(ids(catalog.list({ nodeAlias: "edge-2" })), ["r2"]);
  assert.deepEqual(ids(catalog.list({})), ["r3", "r2", "r1"]);
  catalog.close();
});
