/** Retention's runner in process: a real index in memory, real recording files, a real manager with no streams. */

import assert from "node:assert/strict";
import { waitFor } from "../../tests/helpers/service.ts";
import { Catalog, type RecordingInput } from "../catalog/mod.ts";
import { defaultRuleSettings } from "../config/rules.ts";
import type { RetentionConfig } from "../config/retention.ts";
import { RecordingManager, StreamHub } from "../recorder/mod.ts";
import { freshFiles, ReplaySource } from "../recorder/test_sources.ts";
import type { LogLevel } from "../shared/log.ts";
import { Retention } from "./retention.ts";

const NOW_MS = Date.UTC(2026, 11, 6, 12);
const clock = { nowMs: () => NOW_MS };

function row(recordId: string, hoursAgo: number, sizeMb: number, state: RecordingInput["state"]): RecordingInput {
  const startedAt = new Date(NOW_MS - hoursAgo * 3_600_000).toISOString();
  return {
    recordId,
    stream: "cam",
    recordDir: `cam/${recordId}`,
    mpdPath: `cam/${recordId}/manifest.mpd`,
    hlsPath: `cam/${recordId}/index.m3u8`,
    mp4Path: undefined,
    tsPath: undefined,
    flvPath: undefined,
    startedAt,
    endedAt: state === "recording" ? undefined : new Date(Date.parse(startedAt) + 600_000).toISOString(),
    durationS: 600,
    state,
    sizeBytes: sizeMb * 1e6,
    segments: 100,
    codecs: ["avc1.42e01f", "opus"],
    nodeAlias: undefined,
    periods: 1,
  };
}

async function setup(config: Partial<RetentionConfig>) {
  const lines: { level: LogLevel; message: string; fields: Record<string, unknown> }[] = [];
  const log = (level: LogLevel, message: string, fields: Record<string, unknown> = {}) =>
    lines.push({ level, message, fields });
  const catalog = Catalog.open(":memory:", clock);
  const files = await freshFiles();
  const settings = defaultRuleSettings(6);
  const hub = new StreamHub();
  const manager = new RecordingManager({
    hub,
    files,
    clock,
    log,
    rules: [{ match: "*", mode: "always", settings, onDemand: undefined, source: "test" }],
    defaults: settings,
    nodeAlias: undefined,
  });
  const retention = new Retention({
    config: {
      maxBytes: undefined,
      minFreeDisk: undefined,
      onFull: "refuse_new",
      dryRun: false,
      intervalS: 60,
      ...config,
    },
    rules: [],
    catalog,
    files,
    manager,
    clock,
    log,
    outbox: undefined,
    watchDisk: false,
  });
  const messages = () => lines.map((line) => `${line.level} ${line.message} ${JSON.stringify(line.fields)}`);
  return { catalog, hub, manager, retention, messages, [Symbol.asyncDispose]: () => manager.shutdown() };
}

Deno.test("dry_run logs what would be deleted and deletes nothing", async () => {
  await using run = await setup({ maxBytes: 50e6, dryRun: true });
  for (const input of [row("old", 9, 30, "finished"), row("new", 1, 30, "finished")]) run.catalog.upsert(input);
  await run.retention.runOnce();
  assert.deepEqual(run.catalog.list().map((r) => r.recordId).sort(), ["new", "old"]);
  const dry = run.messages().filter((line) => line.includes("would delete"));
  assert.equal(dry.length, 1);
  assert.match(dry[0]!, /"recordId":"old".*"reason":"max_bytes"/);
  assert.equal(run.retention.status.deletedRecordings, 0);
});

Deno.test("over max_bytes the oldest finished goes; with only a running one left, new recordings are refused", async () => {
  await using run = await setup({ maxBytes: 50e6 });
  for (const input of [row("old", 9, 30, "finished"), row("live", 1, 80, "recording")]) run.catalog.upsert(input);
  await run.retention.runOnce();
  assert.deepEqual(run.catalog.list().map((r) => r.recordId), ["live"], "the running one is never deleted");
  assert.ok(run.messages().some((line) => /^info recording deleted .*"recordId":"old"/.test(line)));
  assert.equal(run.retention.status.full, "max_bytes");
  assert.match(run.manager.refusing ?? "", /storage full \(max_bytes\)/);
  assert.ok(run.messages().some((line) => line.startsWith("warn new recordings are refused")));
  run.hub.publish(new ReplaySource());
  assert.ok(run.messages().some((line) => /^warn recording refused .*"stream":"cam"/.test(line)));
  assert.equal(run.manager.status("cam").recording, false, "a stream published now is not recorded");
  await assert.rejects(run.manager.start("cam"), /new recordings are refused: storage full/);

  // The running one ends and shrinks below the limit (say, its MP4 was not kept): new recordings are taken again.
  run.catalog.upsert({ ...row("live", 1, 40, "finished") });
  await run.retention.runOnce();
  assert.equal(run.manager.refusing, undefined);
  assert.equal(run.retention.status.full, undefined);
  assert.ok(run.messages().some((line) => line.startsWith("info storage has room again")));
});

Deno.test("stop_oldest_running: with nothing finished left to delete, the oldest running recording is stopped", async () => {
  await using run = await setup({ maxBytes: 50e6, onFull: "stop_oldest_running" });
  run.hub.publish(new ReplaySource());
  await waitFor("cam to record", () => Promise.resolve(run.manager.list().length === 1 || undefined));
  run.catalog.upsert(row("live", 1, 80, "recording"));
  await run.retention.runOnce();
  assert.equal(run.retention.status.full, "max_bytes");
  assert.ok(
    run.messages().some((line) =>
      /^warn storage full: stopping the oldest running recording .*"stream":"cam"/.test(line)
    ),
  );
  await waitFor("cam to be stopped", () => Promise.resolve(run.manager.list().length === 0 || undefined));
  assert.equal(run.manager.refusing, undefined, "new recordings are not refused under this policy");
});
