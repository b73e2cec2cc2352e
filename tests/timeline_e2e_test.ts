/**
 * End to end through the running service: a recording's timeline. Rotation (the record period ends a recording and
 * the next one starts at the following keyframe) loses and doubles no frame; a publisher killed mid-stream that
 * comes back inside the splice window continues the same recording in a new period, and one that comes back after
 * it starts a new recording.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { decodeErrors, periodFiles, probe } from "./helpers/media_tools.ts";
import {
  recordingFinished,
  type RecordStatus,
  recordStatus,
  type Service,
  startService,
  waitFor,
} from "./helpers/service.ts";

const clip = await loadClip();
const PUBLISH = new URL("../scripts/publish.ts", import.meta.url).pathname;

/** Every stream recorded in 1 s segments, with a splice window of `seconds`. */
function spliceToml(seconds: number): string {
  return `[[recorder.rules]]\nmatch = "*"\nsegment_duration = 1\nsplice_window = ${seconds}\n`;
}

/**
 * Publishes to `stream` from a separate process and SIGKILLs it after `seconds`: the publisher vanishes without a
 * DELETE. Answers the stream's recording status right after.
 */
async function publishAndVanish(service: Service, stream: string, seconds: number): Promise<RecordStatus> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", PUBLISH, `${service.url}/whip/${stream}`, "--seconds", "60"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  child.kill("SIGKILL");
  await child.status;
  return await recordStatus(service, stream);
}

/** Video frames ffmpeg decodes from `file`. */
async function videoFrames(file: string): Promise<number> {
  const video = (await probe(file)).streams.find((s) => s.codec_type === "video");
  return Number(video?.nb_read_frames ?? 0);
}

Deno.test("rotation at the record period: consecutive recordings hold every frame sent exactly once", async () => {
  const service = await startService({
    toml: `[[recorder.rules]]\nmatch = "rot"\nsegment_duration = 1\nrecord_period = 5\n` +
      `path_template = "{stream}/{record_id}"\n`,
  });
  try {
    const sent = await publishClip({ url: `${service.url}/whip/rot`, seconds: 13, clip });
    await recordingFinished(service, "rot");
    const listing = await (await service.fetch(`/api/recordings?stream=rot&from=2000-01-01T00:00:00Z`)).json();
    const recordings = (listing.recordings as { record_id: string; record_dir: string; state: string }[]).reverse();
    assert.ok(recordings.length >= 2, `rotated at least once: ${JSON.stringify(recordings)}`);
    assert.ok(recordings.every((r) => r.state === "finished"), JSON.stringify(recordings));
    let frames = 0;
    for (const recording of recordings) {
      const mpd = join(service.root, recording.record_dir, "manifest.mpd");
      assert.match(await Deno.readTextFile(mpd), /type="static"/);
      const [period] = await periodFiles(mpd);
      assert.equal(await decodeErrors(period!.video!), "", `${recording.record_id} decodes`);
      frames += await videoFrames(period!.video!);
    }
    assert.equal(frames, sent.videoFrames, "the recordings together hold every frame, none twice");
    assert.match(service.logs(), /recording rotated/);
  } finally {
    await service.stop();
  }
});

Deno.test("a publisher killed and back inside the splice window continues the same recording in a new period", async () => {
  const service = await startService({ toml: spliceToml(60) });
  try {
    const first = await publishAndVanish(service, "splice-in", 4);
    assert.equal(first.recording, true);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    // The vanished publisher sends nothing: the new one takes the stream over, and the recording goes on.
    const sent = await publishClip({ url: `${service.url}/whip/splice-in`, seconds: 4, clip });
    await recordingFinished(service, "splice-in");
    const row = await (await service.fetch(`/api/recordings/${first.record_id}`)).json();
    assert.equal(row.periods, 2, JSON.stringify(row));
    assert.equal(row.state, "finished");
    const mpd = join(service.root, first.mpd_path!);
    const text = await Deno.readTextFile(mpd);
    assert.match(text, new RegExp(`<Period id="${first.record_id}"`));
    assert.match(text, new RegExp(`<Period id="${first.record_id}-2"`));
    const periods = await periodFiles(mpd);
    assert.equal(periods.length, 2);
    for (const period of periods) assert.equal(await decodeErrors(period.video!), "");
    assert.equal(await videoFrames(periods[1]!.video!), sent.videoFrames, "the return is recorded whole");
    assert.match(service.logs(), /recording spliced/);
  } finally {
    await service.stop();
  }
});

Deno.test("a publisher back after the splice window starts a new recording; the first was finalized", async () => {
  const service = await startService({ toml: spliceToml(1) });
  try {
    const first = await publishAndVanish(service, "splice-out", 3);
    // Nothing arrives: after the 10 s media timeout the publish ends, and 1 s later so does the recording.
    await recordingFinished(service, "splice-out", 20_000);
    assert.match(await Deno.readTextFile(join(service.root, first.mpd_path!)), /type="static"/);
    let second: RecordStatus | undefined;
    await publishClip({
      url: `${service.url}/whip/splice-out`,
      seconds: 3,
      clip,
      onConnected: () =>
        waitFor(
          "a new recording",
          async () => (second = await recordStatus(service, "splice-out")).recording ? 1 : undefined,
        ),
    });
    assert.ok(second?.record_id !== undefined && second.record_id !== first.record_id, "a new record id");
    const row = await (await service.fetch(`/api/recordings/${first.record_id}`)).json();
    assert.equal(row.periods, 1);
    assert.match(service.logs(), /splice window closed/);
  } finally {
    await service.stop();
  }
});
