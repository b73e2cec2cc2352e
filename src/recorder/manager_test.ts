/** The recording manager in process: a replayed source published on a hub, its clock driven by the test. */

import assert from "node:assert/strict";
import { waitFor } from "../../tests/helpers/service.ts";
import { defaultRuleSettings } from "../config/rules.ts";
import type { LogLevel } from "../shared/log.ts";
import { StreamHub } from "./hub.ts";
import { RecordingManager, type RecordingObserver, type RecordingView } from "./manager.ts";
import { armedGridTimers } from "../shared/aligned_timer.ts";
import { freshFiles, ReplaySource } from "./test_sources.ts";

/**
 * A manager that records every stream in 2 s segments, with its clock, log lines and hub, recording the replayed
 * source "cam".
 */
async function recordingCam(observer?: RecordingObserver) {
  const clock = { ms: Date.UTC(2026, 11, 6, 12) };
  const lines: { level: LogLevel; message: string; fields: Record<string, unknown> }[] = [];
  const hub = new StreamHub();
  const settings = defaultRuleSettings(2);
  const manager = new RecordingManager({
    hub,
    files: await freshFiles(),
    clock: { nowMs: () => clock.ms },
    log: (level, message, fields = {}) => lines.push({ level, message, fields }),
    rules: [{ match: "*", mode: "always", settings, onDemand: undefined, source: "test" }],
    defaults: settings,
    nodeAlias: undefined,
    ...(observer !== undefined ? { observer } : {}),
  });
  const source = new ReplaySource();
  hub.publish(source);
  await waitFor("the recording to start", () => Promise.resolve(manager.status("cam").recording || undefined));
  return { clock, lines, hub, manager, source };
}

Deno.test("a recording logs its progress every media minute: seconds, segments, bytes, losses", async () => {
  const { clock, lines, manager, source } = await recordingCam();
  try {
    source.replay(5, clock);
    const progress = () => lines.filter((line) => line.message === "recording progress");
    // The manager looks twice a second; less than a minute since the start, it says nothing.
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(progress().length, 0);
    clock.ms += 60_000;
    const [line] = await waitFor(
      "a progress line",
      () => Promise.resolve(progress().length > 0 ? progress() : undefined),
    );
    assert.equal(line!.level, "info");
    const { stream, seconds, segments, bytes, lostPackets, droppedFrames } = line!.fields;
    assert.equal(stream, "cam");
    assert.ok(typeof seconds === "number" && seconds >= 4 && seconds <= 5, `seconds ${seconds}`);
    assert.ok(typeof segments === "number" && segments >= 2, `segments ${segments}`);
    assert.ok(typeof bytes === "number" && bytes > 100_000, `bytes ${bytes}`);
    assert.deepEqual([lostPackets, droppedFrames], [0, 0]);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(progress().length, 1, "once a minute, not at every look");
  } finally {
    await manager.shutdown();
  }
});

Deno.test("stopping a recording first takes in what its source still holds unread (LiveSource.flush)", async () => {
  const { clock, lines, manager, source } = await recordingCam();
  try {
    source.replayHoldingBack(4, 1, clock);
    await manager.stop("cam");
    const finished = lines.find((line) => line.message === "recording finished");
    assert.equal(finished?.fields.videoFrames, 120, "all 4 s of 30 fps, the last second from the flush");
  } finally {
    await manager.shutdown();
  }
});

Deno.test("a splice is reported once the segments the dropout closed are counted", async () => {
  const spliced: RecordingView[] = [];
  const { clock, hub, manager, source } = await recordingCam({ spliced: (view) => spliced.push(view) });
  try {
    // Less than one 2 s segment: the dropout's stop closes it, and the publisher is back at once.
    source.replay(1.5, clock);
    hub.unpublish(source, "lost");
    hub.publish(new ReplaySource());
    const [view] = await waitFor("the splice", () => Promise.resolve(spliced.length > 0 ? spliced : undefined));
    assert.equal(view!.periods, 2);
    assert.equal(view!.segments, 2, "the first period's video and audio segment");
  } finally {
    await manager.shutdown();
  }
});

Deno.test("a manager looks at its recordings once a second only while it has some: an idle one arms no timer", async () => {
  const { clock, manager, source } = await recordingCam();
  source.replay(1, clock);
  assert.equal(armedGridTimers(), 1, "the look while recording");
  await manager.stop("cam");
  assert.equal(armedGridTimers(), 0, "nothing once the last recording ended");
});
