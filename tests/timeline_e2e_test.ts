/**
 * End to end through the running service: a recording's timeline. Rotation (the record period ends a recording and
 * the next one starts at the following keyframe) loses and doubles no frame; a publisher killed mid-stream that
 * comes back inside the splice window continues the same recording in a new period, and one that comes back after
 * it starts a new recording. Each step is also checked as the signed webhooks a real receiver gets
 * (`recording.rotated`, `recording.spliced`, `recording.started`, `recording.finished`).
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
import { startWebhookReceiver, type WebhookReceiver } from "./helpers/webhook_receiver.ts";

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

/** Fails unless every request `receiver` got carries a valid signature. */
function assertAllSigned(receiver: WebhookReceiver): void {
  const unsigned = receiver.requests().filter((request) => !request.signed);
  assert.deepEqual(unsigned.map((request) => request.body), [], "every webhook is signed with the secret");
}

/** Video frames ffmpeg decodes from `file`. */
async function videoFrames(file: string): Promise<number> {
  const video = (await probe(file)).streams.find((s) => s.codec_type === "video");
  return Number(video?.nb_read_frames ?? 0);
}

Deno.test("rotation at the record period: consecutive recordings hold every frame sent exactly once", async () => {
  const receiver = await startWebhookReceiver();
  const service = await startService({
    toml: `[[recorder.rules]]\nmatch = "rot"\nsegment_duration = 1\nrecord_period = 5\n` +
      `path_template = "{stream}/{record_id}"\n\n${receiver.toml}`,
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

    // Each rotation is a signed recording.rotated from one recording to the next, cut at one instant.
    const last = recordings.at(-1)!.record_id;
    await receiver.waitForEvent("recording.finished", (event) => event.data.record_id === last);
    const rotated = receiver.events("recording.rotated");
    assert.equal(rotated.length, recordings.length - 1, rotated.map((event) => event.body).join("\n"));
    recordings.slice(1).forEach((to, i) => {
      const from = recordings[i]!;
      const event = rotated.find(({ data }) => data.from?.record_id === from.record_id);
      assert.ok(event !== undefined, `recording.rotated from ${from.record_id}`);
      const data = event.data as Required<typeof event.data>;
      assert.equal(data.to.record_id, to.record_id, event.body);
      assert.equal(data.from.stream, "rot");
      assert.equal(data.to.stream, "rot");
      assert.equal(data.from.state, "finished", event.body);
      assert.equal(data.to.state, "recording", event.body);
      assert.ok(Date.parse(data.from.started_at) < Date.parse(data.to.started_at), event.body);
      assert.equal(data.from.ended_at, data.to.started_at, `the cut ends one and starts the next: ${event.body}`);
    });
    assertAllSigned(receiver);
  } finally {
    await service.stop();
    await receiver.close();
  }
});

Deno.test("a publisher killed and back inside the splice window continues the same recording in a new period", async () => {
  const receiver = await startWebhookReceiver();
  const service = await startService({ toml: `${spliceToml(60)}\n${receiver.toml}` });
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

    // Webhooks: one recording.started, one recording.spliced, then recording.finished with both periods.
    const done = await receiver.waitForEvent("recording.finished", (event) => event.data.record_id === first.record_id);
    assert.equal(done.data.periods, 2, done.body);
    assert.equal(done.data.state, "finished", done.body);
    assert.equal(done.data.ended_at, row.ended_at, done.body);
    const spliced = receiver.events("recording.spliced");
    assert.equal(spliced.length, 1, spliced.map((event) => event.body).join("\n"));
    const splice = spliced[0]!.data;
    assert.equal(splice.record_id, first.record_id, spliced[0]!.body);
    assert.equal(splice.stream, "splice-in");
    assert.equal(splice.state, "recording", spliced[0]!.body);
    assert.equal(splice.periods, 2, `the event counts the period it begins: ${spliced[0]!.body}`);
    assert.equal(splice.mpd_path, first.mpd_path, spliced[0]!.body);
    assert.equal(splice.started_at, row.started_at, spliced[0]!.body);
    assert.equal(splice.ended_at, null, spliced[0]!.body);
    assert.ok(splice.segments >= 1, `the first period's segments count: ${spliced[0]!.body}`);
    const started = receiver.events("recording.started").map((event) => event.data.record_id);
    assert.deepEqual(started, [first.record_id], "the return starts no other recording");
    assertAllSigned(receiver);
  } finally {
    await service.stop();
    await receiver.close();
  }
});

Deno.test("a publisher back after the splice window starts a new recording; the first was finalized", async () => {
  const receiver = await startWebhookReceiver();
  const service = await startService({ toml: `${spliceToml(1)}\n${receiver.toml}` });
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

    // Webhooks: the first recording finished, the return started another one, and nothing was spliced.
    const ended = await receiver.waitForEvent(
      "recording.finished",
      (event) => event.data.record_id === first.record_id,
    );
    assert.equal(ended.data.periods, 1, ended.body);
    assert.equal(ended.data.state, "finished", ended.body);
    assert.equal(ended.data.ended_at, row.ended_at, ended.body);
    await receiver.waitForEvent("recording.finished", (event) => event.data.record_id === second!.record_id);
    const started = receiver.events("recording.started").map((event) => event.data.record_id);
    assert.deepEqual(started, [first.record_id, second.record_id]);
    assert.deepEqual(receiver.events("recording.spliced").map((event) => event.body), []);
    assertAllSigned(receiver);
  } finally {
    await service.stop();
    await receiver.close();
  }
});

Deno.test("a WHIP DELETE opens the splice window by default: a publish again continues the same recording", async () => {
  // The test services turn splice_on_unpublish off (tests/helpers/service.ts); this one keeps the product default.
  const service = await startService({ toml: `[recorder]\nsplice_on_unpublish = true\n\n${spliceToml(60)}` });
  try {
    const first = await publishClip({ url: `${service.url}/whip/again`, seconds: 3, clip });
    const waiting = await waitFor("the recording to wait for its publisher", async () => {
      const status = await recordStatus(service, "again");
      return status.state === "waiting" ? status : undefined;
    });
    assert.ok(waiting.splice_deadline != null, JSON.stringify(waiting));
    const second = await publishClip({ url: `${service.url}/whip/again`, seconds: 3, clip });
    const again = await waitFor("the recording to wait again", async () => {
      const status = await recordStatus(service, "again");
      return status.state === "waiting" ? status : undefined;
    });
    assert.equal(again.record_id, waiting.record_id, "one recording across the DELETE");
    // The API's stop is final at once, also for a recording waiting in its window.
    assert.equal((await service.fetch("/api/record/again", { method: "DELETE" })).status, 200);
    await recordingFinished(service, "again");
    const row = await (await service.fetch(`/api/recordings/${waiting.record_id}`)).json();
    assert.equal(row.periods, 2, JSON.stringify(row));
    assert.equal(row.state, "finished");
    const periods = await periodFiles(join(service.root, waiting.mpd_path!));
    const frames = [await videoFrames(periods[0]!.video!), await videoFrames(periods[1]!.video!)];
    assert.deepEqual(frames, [first.videoFrames, second.videoFrames], "each publish is recorded whole in its period");
  } finally {
    await service.stop();
  }
});
