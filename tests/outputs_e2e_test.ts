/**
 * The outputs around a recording, end to end through the running service with real WebRTC publishers on loopback:
 * the progressive MP4 merged when a recording ends, range exports, signed and retried webhooks, the recordings
 * index with live777's Liveman sync (pull, ack, delete), and deleting a recording's objects. Files are judged by
 * ffprobe/ffmpeg, webhooks by a real HTTP receiver that checks every signature itself.
 */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { join } from "node:path";
import { CLIP_PATH, loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import type { RecordingJson, SyncPageJson, SyncSessionJson } from "../src/catalog/mod.ts";
import { decodeErrors, probe, run } from "./helpers/media_tools.ts";
import { recordingStarted, type Service, startService, todayFolder, waitFor } from "./helpers/service.ts";
import { startWebhookReceiver, webhooksToml } from "./helpers/webhook_receiver.ts";

const clip = await loadClip();

/** The test clip's frame rate; a key frame opens every second, every 30 frames (see scripts/make_clip.sh). */
const FPS = 30;

/** How many frames (here 200 ms) the recorder's wall clock may lag the publisher's, on a loaded machine. */
const RECORDER_LAG_FRAMES = 6;

/** A listing of the index (`from` makes a GET a listing rather than a Liveman sync pull), newest first. */
async function listing(service: Service, query: string): Promise<RecordingJson[]> {
  const response = await service.fetch(`/api/recordings?from=1970-01-01T00:00:00Z&${query}`);
  assert.equal(response.status, 200, `listing ${query}`);
  return (await response.json()).recordings;
}

/** The index row of recording `recordId`, or undefined while the index has none. */
async function indexRow(service: Service, recordId: string): Promise<RecordingJson | undefined> {
  const response = await service.fetch(`/api/recordings/${recordId}`);
  if (response.status === 404) return void await response.body?.cancel();
  assert.equal(response.status, 200);
  return await response.json();
}

/** Waits until the newest recording of `streamId` (or `recordId`) is finished in the index; fails fast if failed. */
function finished(service: Service, streamId: string, recordId?: string): Promise<RecordingJson> {
  return waitFor(`a finished recording of ${streamId}`, async () => {
    const rows = await listing(service, `stream=${streamId}`);
    const row = recordId === undefined ? rows[0] : rows.find((r) => r.record_id === recordId);
    if (row?.state === "failed") throw new Error(`recording failed: ${JSON.stringify(row)}`);
    return row?.state === "finished" ? row : undefined;
  });
}

/** Liveman's pull: `GET /api/recordings?stream=X[&since_ts=T]`, none of the listing's own parameters. */
async function syncPull(service: Service, streamId: string, sinceTs?: number): Promise<SyncPageJson> {
  const since = sinceTs === undefined ? "" : `&since_ts=${sinceTs}`;
  const response = await service.fetch(`/api/recordings?stream=${streamId}${since}`);
  assert.equal(response.status, 200);
  const page = await response.json();
  assert.ok(Array.isArray(page.sessions) && !("recordings" in page), `a sync page: ${JSON.stringify(page)}`);
  return page;
}

async function sendJson(service: Service, method: string, path: string, body: unknown): Promise<Response> {
  return await service.fetch(path, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Asserts a JSON error answer with `status` and error code `code`; answers its message. */
async function expectError(response: Response, status: number, code: string): Promise<string> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.match(response.headers.get("content-type") ?? "", /application\/json/);
  const body = JSON.parse(text);
  assert.equal(body.error?.code, code, text);
  assert.equal(typeof body.error?.message, "string");
  return body.error.message;
}

/** Saves an MP4 answer to a temporary file (checking its headers) for ffprobe. */
async function savedMp4(response: Response): Promise<string> {
  assert.equal(response.status, 200, response.ok ? "" : await response.text());
  assert.equal(response.headers.get("content-type"), "video/mp4");
  const bytes = new Uint8Array(await response.arrayBuffer());
  assert.equal(response.headers.get("content-length"), String(bytes.length));
  assert.match(response.headers.get("content-disposition") ?? "", /^attachment; filename=".+\.mp4"$/);
  const path = await Deno.makeTempFile({ prefix: "liverec-export-", suffix: ".mp4" });
  await Deno.writeFile(path, bytes);
  return path;
}

/** The fourccs of a file's top-level boxes, in order (ISO/IEC 14496-12 §4.2). */
function topLevelBoxes(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: string[] = [];
  for (let at = 0; at + 8 <= bytes.length;) {
    let size = view.getUint32(at);
    if (size === 1) size = Number(view.getBigUint64(at + 8));
    if (size === 0) size = bytes.length - at;
    types.push(new TextDecoder().decode(bytes.subarray(at + 4, at + 8)));
    assert.ok(size >= 8, `box size ${size} at ${at}`);
    at += size;
  }
  return types;
}

/** The MD5 of the decoded picture of video frame `index` (0-based, in decoding order) of a file. */
async function frameMd5(input: string, index: number): Promise<string> {
  const { code, stdout, stderr } = await run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-i",
    input,
    "-map",
    "0:v",
    "-vf",
    `select=eq(n\\,${index})`,
    "-fps_mode",
    "passthrough",
    "-frames:v",
    "1",
    "-f",
    "md5",
    "-",
  ]);
  assert.equal(code, 0, stderr);
  // The MD5 of no bytes at all: the file has no frame `index`.
  assert.notEqual(stdout.trim(), "MD5=d41d8cd98f00b204e9800998ecf8427e", `${input} has no video frame ${index}`);
  return stdout.trim();
}

/** The object names in a record folder (empty when the folder is gone). */
function folderNames(path: string): Set<string> {
  try {
    return new Set([...Deno.readDirSync(path)].map((entry) => entry.name));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Set();
    throw error;
  }
}

function sorted(names: Iterable<string>): string[] {
  return [...names].sort();
}

Deno.test("a rule with formats mp4 merges each finished recording into one progressive MP4, also served by the API", async () => {
  const service = await startService({
    toml: `[[recorder.rules]]\nmatch = "merge-*"\nformats = ["dash", "hls", "mp4"]\nsegment_duration = 2\n`,
  });
  try {
    const sent = await publishClip({ url: `${service.url}/whip/merge-1`, seconds: 6, clip });
    const { record_id: recordId } = await finished(service, "merge-1");
    const row = await indexRow(service, recordId);
    assert.ok(row !== undefined);
    assert.equal(row.state, "finished");
    assert.ok(row.mp4_path !== null, `the index row names the MP4: ${JSON.stringify(row)}`);
    // The default mp4_template, {record_dir}/{name}_{start}_{end}.mp4, with times to the second, ":" as "-".
    const stamp = (iso: string | null) => `${iso?.slice(0, 19).replaceAll(":", "-")}Z`;
    const name = `merge-1_${stamp(row.started_at)}_${stamp(row.ended_at)}.mp4`;
    assert.equal(row.mp4_path, `merge-1/${todayFolder()}/${name}`);

    const mp4 = join(service.root, row.mp4_path);
    const bytes = await Deno.readFile(mp4);
    const boxes = topLevelBoxes(bytes);
    assert.equal(boxes[0], "ftyp");
    const moov = boxes.indexOf("moov");
    assert.ok(moov > 0 && moov < boxes.indexOf("mdat"), `faststart: moov before mdat in ${boxes}`);
    assert.ok(!boxes.includes("moof"), `progressive, not fragmented: ${boxes}`);
    assert.equal(await decodeErrors(mp4), "");
    const { streams, durationS } = await probe(mp4);
    const video = streams.find((s) => s.codec_type === "video");
    const audio = streams.find((s) => s.codec_type === "audio");
    assert.ok(video && audio, `both streams: ${JSON.stringify(streams)}`);
    assert.equal(video.codec_name, "h264");
    assert.equal(audio.codec_name, "opus");
    assert.equal(Number(video.nb_read_frames), sent.videoFrames, "every video frame sent is in the MP4");
    assert.ok(Math.abs(durationS - sent.seconds) <= 0.5, `MP4 lasts ${durationS} s, ${sent.seconds} s were sent`);
    assert.ok(Math.abs(row.duration_s - sent.seconds) <= 0.5, `index duration ${row.duration_s} s`);

    const stored = await savedMp4(await service.fetch(`/api/recordings/${recordId}/mp4`));
    assert.deepEqual(await Deno.readFile(stored), bytes, "the API serves the merged file");
    // Without the merged file the API merges the recording again.
    await Deno.remove(mp4);
    const served = await savedMp4(await service.fetch(`/api/recordings/${recordId}/mp4`));
    assert.equal(await decodeErrors(served), "");
    const again = await probe(served);
    const servedVideo = again.streams.find((s) => s.codec_type === "video");
    assert.ok(again.streams.some((s) => s.codec_type === "audio"), JSON.stringify(again.streams));
    assert.equal(Number(servedVideo?.nb_read_frames), sent.videoFrames);
    assert.ok(Math.abs(again.durationS - durationS) <= 0.05, `served ${again.durationS} s, merged ${durationS} s`);

    await expectError(await service.fetch(`/api/recordings/20000101T000000Z-00000000/mp4`), 404, "not_found");
  } finally {
    await service.stop();
  }
});

Deno.test("an export of a wall-clock range is an MP4 from the key frame at or before its start; empty ranges are 404, bad ones 400", async () => {
  const service = await startService({ toml: `[[recorder.rules]]\nmatch = "range-*"\nsegment_duration = 1\n` });
  try {
    // When each video frame left the publisher (1-based); frames n = 1, 31, 61, ... are the clip's key frames.
    const sentAtMs: number[] = [];
    const sent = await publishClip({
      url: `${service.url}/whip/range-1`,
      seconds: 6,
      clip,
      onVideoFrame: (n) => (sentAtMs[n] = Date.now()),
    });
    const row = await finished(service, "range-1");
    const firstMs = sentAtMs[1]!;
    /** Wall-clock time of frame n, paced from the first at the clip's 30 fps. */
    const frameMs = (n: number) => firstMs + (n - 1) * 1000 / FPS;
    const exportOf = (start: string, duration: string, format?: string) =>
      service.fetch(
        `/api/export/range-1?start=${encodeURIComponent(start)}&duration=${duration}` +
          (format === undefined ? "" : `&format=${format}`),
      );
    /** Exports and checks a range; `from` and `to` are the first and last frame numbers it should hold. */
    const expectRange = async (start: string, duration: string, from: number, to: number) => {
      const path = await savedMp4(await exportOf(start, duration));
      assert.equal(await decodeErrors(path), "", `export from ${start} for ${duration} s`);
      const { streams, durationS } = await probe(path);
      const video = streams.find((s) => s.codec_type === "video");
      assert.ok(video && streams.some((s) => s.codec_type === "audio"), JSON.stringify(streams));
      // Remuxed, not re-encoded: its second frame (sent as frame from + 1, the clip's frame from % length, 0-based,
      // as the clip loops) decodes to exactly the clip's picture. Key frames are all white, hence the second.
      const clipFrame = await frameMd5(CLIP_PATH.pathname, from % clip.video.length);
      assert.equal(await frameMd5(path, 1), clipFrame, `the export starts at frame ${from}`);
      // The recorder dates a period from when it handled its first key frame, which on a busy machine is up to a
      // few frames after the publisher sent it: a range's end then falls that much earlier in the media.
      const frames = Number(video.nb_read_frames);
      const expected = to - from + 1;
      assert.ok(
        frames <= expected + 1 && frames >= expected - RECORDER_LAG_FRAMES,
        `${frames} frames, expected frames ${from}-${to}`,
      );
      assert.ok(Math.abs(durationS - frames / FPS) <= 0.1, `${durationS} s for ${frames} frames`);

      // The same range as a fragmented MP4: ftyp, moov, then moof + mdat fragments, with the same frames. ffmpeg does
      // not trim a fragmented track's head by its edit list, so the audio packet straddling the key frame shows from
      // up to one packet (20 ms) before 0 and the file lasts that much longer.
      const fmp4 = await savedMp4(await exportOf(start, duration, "fmp4"));
      const boxes = topLevelBoxes(await Deno.readFile(fmp4));
      assert.deepEqual(boxes.slice(0, 3), ["ftyp", "moov", "moof"], `fragmented: ${boxes}`);
      assert.equal(await decodeErrors(fmp4), "", `fmp4 export from ${start} for ${duration} s`);
      const fragmented = await probe(fmp4);
      for (const type of ["video", "audio"]) {
        const count = (list: typeof streams) => list.find((s) => s.codec_type === type)?.nb_read_frames;
        assert.equal(count(fragmented.streams), count(streams), `fmp4 ${type} frames`);
      }
      // One 20 ms Opus packet, plus the progressive file's duration rounded up to the millisecond.
      assert.ok(
        Math.abs(fragmented.durationS - durationS) <= 0.02 + 0.001,
        `fmp4 ${fragmented.durationS} s, mp4 ${durationS} s`,
      );
      assert.equal(await frameMd5(fmp4, 1), clipFrame, `the fmp4 export starts at frame ${from}`);
    };

    // Mid-GOP, 0.45 s after key frame 61, for 3 s: from frame 61 to the last frame before the range's end.
    await expectRange(new Date(frameMs(61) + 450).toISOString(), "3", 61, 61 + Math.floor(3.45 * FPS));
    // Unix milliseconds work as well as ISO 8601; a range past the recording's end stops at its last frame.
    await expectRange(String(Math.round(frameMs(121) + 450)), "10", 121, sent.videoFrames);
    // A range that begins before the recording starts at its first frame.
    await expectRange(new Date(firstMs - 2000).toISOString(), "3.45", 1, Math.floor(1.45 * FPS));

    const inRange = new Date(frameMs(61) + 450).toISOString();
    await expectError(await exportOf(new Date(firstMs - 3_600_000).toISOString(), "3"), 404, "not_found");
    await expectError(
      await exportOf(new Date(Date.parse(row.ended_at!) + 60_000).toISOString(), "3"),
      404,
      "not_found",
    );
    for (const duration of ["0", "-2", "abc", String(6 * 3600 + 1)]) {
      await expectError(await exportOf(inRange, duration), 400, "bad_request");
    }
    const noDuration = `/api/export/range-1?start=${encodeURIComponent(inRange)}`;
    await expectError(await service.fetch(noDuration), 400, "bad_request");
    await expectError(await exportOf("yesterday", "3"), 400, "bad_request");
    await expectError(await exportOf("2025-01-01T00:00:00", "3"), 400, "bad_request");
    const bogus = await expectError(await exportOf(inRange, "3", "bogus"), 400, "bad_request");
    assert.ok(bogus.includes(`"bogus"`) && bogus.includes(`"mp4"`) && bogus.includes(`"fmp4"`), bogus);
  } finally {
    await service.stop();
  }
});

/** One request the webhook receiver got, and what it answered. */
interface Hit {
  id: string;
  timestamp: string;
  signature: string;
  contentType: string;
  body: string;
  status: number;
}

Deno.test("webhooks: started, segment and finished events are signed, retried with the same id after 500s, and carry the node alias", async () => {
  const secret = "e2e-webhook-secret-0123456789";
  const hits: Hit[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const status = hits.length < 2 ? 500 : 200;
    hits.push({
      id: request.headers.get("webhook-id") ?? "",
      timestamp: request.headers.get("webhook-timestamp") ?? "",
      signature: request.headers.get("webhook-signature") ?? "",
      contentType: request.headers.get("content-type") ?? "",
      body: await request.text(),
      status,
    });
    return new Response(status === 200 ? "ok" : "try again", { status });
  });
  const service = await startService({
    toml: [
      `[recorder]\nnode_alias = "e2e-node-7"\n`,
      `[[recorder.rules]]\nmatch = "hook-*"\nsegment_duration = 1\n`,
      `[webhooks]\nurls = ["http://127.0.0.1:${receiver.addr.port}/liverec"]\nsecret = "${secret}"\ntimeout = 2\n`,
    ].join("\n"),
  });
  try {
    const sent = await publishClip({ url: `${service.url}/whip/hook-1`, seconds: 4, clip });
    const row = await finished(service, "hook-1");
    await waitFor("recording.finished to be delivered", () => {
      const done = hits.some((hit) => hit.status === 200 && JSON.parse(hit.body).type === "recording.finished");
      return Promise.resolve(done ? true : undefined);
    }, 20_000);

    for (const hit of hits) {
      assert.match(hit.contentType, /^application\/json/);
      const expected = createHmac("sha256", secret).update(`${hit.id}.${hit.timestamp}.${hit.body}`).digest("base64");
      assert.equal(hit.signature, `v1,${expected}`, `signature of ${hit.body}`);
      assert.ok(Math.abs(Number(hit.timestamp) - Date.now() / 1000) < 60, `timestamp ${hit.timestamp} is now`);
      const body = JSON.parse(hit.body);
      assert.equal(body.id, hit.id, "webhook-id is the body's id");
      assert.equal(body.node_alias, "e2e-node-7");
      assert.ok(!Number.isNaN(Date.parse(body.created_at)), `created_at ${body.created_at}`);
      assert.equal(body.data.record_id, row.record_id, `${body.type} is about the recording the API lists`);
    }
    // The first event failed twice and was sent again, byte for byte, before anything after it.
    assert.ok(hits.length >= 5, `${hits.length} requests`);
    const [first, second, third] = hits as [Hit, Hit, Hit];
    assert.deepEqual([first.status, second.status, third.status], [500, 500, 200]);
    assert.equal(second.id, first.id);
    assert.equal(third.id, first.id);
    assert.equal(second.body, first.body);
    assert.equal(third.body, first.body);
    assert.ok(Number(third.timestamp) >= Number(first.timestamp) + 1, "a retry is stamped with its own time");

    const delivered = hits.filter((hit) => hit.status === 200).map((hit) => JSON.parse(hit.body));
    assert.equal(new Set(delivered.map((event) => event.id)).size, delivered.length, "one id per event");
    const types = delivered.map((event) => event.type);
    assert.equal(types[0], "recording.started", types.join(", "));
    assert.equal(types.at(-1), "recording.finished", types.join(", "));
    const segments = delivered.filter((event) => event.type === "recording.segment");
    assert.ok(segments.length >= 1, types.join(", "));
    for (const { data } of segments) {
      assert.ok(data.track === "video" || data.track === "audio", JSON.stringify(data));
      assert.ok(data.duration_s > 0 && data.size_bytes > 0, JSON.stringify(data));
      assert.ok(typeof data.key === "string" && data.key.startsWith(row.record_dir + "/"), JSON.stringify(data));
    }
    const done = delivered.at(-1)!.data;
    assert.equal(done.stream, "hook-1");
    assert.equal(done.node_alias, "e2e-node-7");
    assert.ok(Math.abs(done.duration_s - sent.seconds) <= 0.5, `finished after ${done.duration_s} s`);
    assert.equal(done.ended_at, row.ended_at);
  } finally {
    await service.stop();
    await receiver.shutdown();
  }
});

Deno.test("the index and Liveman's sync: a session seen and acked while active comes back Completed, then ack and delete take it out of the feed, not the index", async () => {
  const testStart = new Date().toISOString();
  const service = await startService({
    toml: `[recorder]\nnode_alias = "e2e-node-9"\n\n[[recorder.rules]]\nmatch = "sync-*"\nsegment_duration = 1\n`,
  });
  try {
    const keys = (recordId: string) => ({ records: [{ stream: "sync-1", record: recordId }] });
    const publishing = publishClip({ url: `${service.url}/whip/sync-1`, seconds: 5, clip });
    const { record_id: recordId } = await recordingStarted(service, "sync-1");
    const active: SyncSessionJson = await waitFor("the active session in the sync", async () => {
      return (await syncPull(service, "sync-1")).sessions.find((s) =>
        s.record_id === recordId && s.status === "Active"
      );
    });
    // live777's id, which Liveman stores as `record` and shows as a date: the start in Unix seconds.
    assert.match(active.id, /^\d{10}$/);
    assert.equal(Number(active.id), Math.floor(Date.parse(active.started_at) / 1000));
    assert.equal(active.liveman_id, Number(active.id));
    const livemanId = active.id;
    assert.equal(active.stream, "sync-1");
    assert.equal(active.node_alias, "e2e-node-9");
    assert.equal(active.start_ts, Date.parse(active.started_at) * 1000);
    assert.equal(active.end_ts, null);
    assert.equal(active.duration_ms, null);
    assert.equal(active.mpd_path, `sync-1/${todayFolder()}/manifest.mpd`);

    // Ack what the pull delivered; a segment stored between the pull and the ack is a newer change that the ack
    // does not cover (0), and the next pull delivers it, as it does for Liveman.
    const acked = await waitFor("the active session acked", async () => {
      await syncPull(service, "sync-1");
      const { acked } = await (await sendJson(service, "PATCH", "/api/recordings", keys(livemanId))).json();
      assert.ok(acked === 0 || acked === 1, `acked ${acked}`);
      return acked === 1 ? acked : undefined;
    });
    assert.equal(acked, 1);
    const early = await (await sendJson(service, "DELETE", "/api/recordings", keys(livemanId))).json();
    assert.deepEqual(early, { deleted: 0 }, "an active recording is never deleted from the index");

    const sent = await publishing;
    await finished(service, "sync-1", recordId);
    const page = await syncPull(service, "sync-1");
    const completed = page.sessions.find((s) => s.id === livemanId);
    assert.ok(completed !== undefined, `the finish of an acked session is pulled again: ${JSON.stringify(page)}`);
    assert.equal(completed.status, "Completed");
    assert.equal(completed.state, "finished");
    assert.equal(completed.node_alias, "e2e-node-9");
    assert.ok(completed.end_ts !== null && completed.end_ts > completed.start_ts, `end_ts ${completed.end_ts}`);
    assert.equal(completed.end_ts, Date.parse(completed.ended_at!) * 1000);
    assert.ok(completed.duration_ms !== null, "duration_ms is set");
    assert.ok(Math.abs(completed.duration_ms - sent.seconds * 1000) <= 500, `duration_ms ${completed.duration_ms}`);
    assert.ok(page.last_ts !== null && page.last_ts >= completed.updated_ts, `last_ts ${page.last_ts}`);
    assert.deepEqual((await syncPull(service, "sync-1", page.last_ts!)).sessions, [], "nothing newer");

    const listed = await (await service.fetch(
      `/api/recordings?stream=sync-1&from=${testStart}&to=${new Date(Date.now() + 60_000).toISOString()}`,
    )).json();
    assert.deepEqual(listed.recordings.map((r: RecordingJson) => [r.record_id, r.node_alias]), [[
      recordId,
      "e2e-node-9",
    ]]);
    const before = await (await service.fetch(
      `/api/recordings?stream=sync-1&from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z`,
    )).json();
    assert.deepEqual(before.recordings, [], "a range before the recording lists nothing");

    // liverec's own id is accepted in Liveman's keys as well.
    const unacked = await (await sendJson(service, "DELETE", "/api/recordings", keys(recordId))).json();
    assert.deepEqual(unacked, { deleted: 0 }, "the Completed version is not acked yet, so it stays");
    assert.deepEqual(await (await sendJson(service, "PATCH", "/api/recordings", keys(recordId))).json(), { acked: 1 });
    assert.deepEqual((await syncPull(service, "sync-1")).sessions, [], "an acked session leaves the sync");
    assert.deepEqual(await (await sendJson(service, "DELETE", "/api/recordings", keys(recordId))).json(), {
      deleted: 1,
    });
    assert.deepEqual((await syncPull(service, "sync-1")).sessions, []);
    // Liveman's delete takes the row out of its feed only: liverec's own API still lists and serves the recording.
    assert.equal((await indexRow(service, recordId))?.state, "finished", "the row stays in liverec's index");
    assert.equal((await indexRow(service, livemanId))?.record_id, recordId, "either id names the recording");
    assert.deepEqual((await listing(service, "stream=sync-1")).map((row) => row.record_id), [recordId]);
    const mp4 = await service.fetch(`/api/recordings/${recordId}/mp4`);
    assert.equal(mp4.status, 200);
    assert.ok((await mp4.arrayBuffer()).byteLength > 10_000, "the whole recording as MP4");
    await expectError(await sendJson(service, "PATCH", "/api/recordings", { records: "all" }), 400, "bad_request");
  } finally {
    await service.stop();
  }
});

Deno.test("deleting a finished recording removes its objects and row, keeps the other recording in its folder, and refuses a running one", async () => {
  await using receiver = await startWebhookReceiver();
  const service = await startService({
    toml: `[[recorder.rules]]\nmatch = "del-*"\nformats = ["dash", "hls", "mp4"]\nsegment_duration = 1\n\n` +
      webhooksToml([receiver.url], receiver.secret),
  });
  try {
    const dir = join(service.root, "del-1", todayFolder());
    await publishClip({ url: `${service.url}/whip/del-1`, seconds: 3, clip });
    const first = await finished(service, "del-1");
    assert.ok(first.mp4_path !== null);
    const firstNames = folderNames(dir);
    const shared = ["index.json", "manifest.mpd", "index.m3u8", "video.m3u8", "audio.m3u8"];
    for (const name of [...shared, "init.m4s", "seg_0001.m4s", first.mp4_path.split("/").at(-1)!]) {
      assert.ok(firstNames.has(name), `${name} in ${sorted(firstNames)}`);
    }

    const publishing = publishClip({ url: `${service.url}/whip/del-1`, seconds: 4, clip });
    const { record_id: secondId } = await recordingStarted(service, "del-1");
    assert.notEqual(secondId, first.record_id);
    await waitFor("the running recording in the index", () => indexRow(service, secondId));
    const running = await service.fetch(`/api/recordings/${secondId}`, { method: "DELETE" });
    assert.match(await expectError(running, 409, "conflict"), /running/);
    const sent = await publishing;
    const second = await finished(service, "del-1", secondId);
    assert.equal(second.record_dir, first.record_dir, "both recordings share the day's folder");
    const bothNames = folderNames(dir);

    const response = await service.fetch(`/api/recordings/${first.record_id}`, { method: "DELETE" });
    assert.equal(response.status, 200);
    const answer = await response.json();
    const firstOwn = [...firstNames].filter((name) => !shared.includes(name));
    assert.deepEqual(answer, { deleted: true, record_id: first.record_id, objects: firstOwn.length });
    assert.deepEqual(
      sorted(folderNames(dir)),
      sorted([...bothNames].filter((name) => !firstOwn.includes(name))),
      "exactly the first recording's segments, inits and MP4 are gone",
    );
    assert.equal(await indexRow(service, first.record_id), undefined);
    await expectError(await service.fetch(`/api/recordings/${first.record_id}`), 404, "not_found");
    const deleted = await receiver.waitForEvent("recording.deleted");
    assert.deepEqual(
      { ...deleted.data as unknown as Record<string, unknown>, size_bytes: undefined },
      {
        record_id: first.record_id,
        stream: "del-1",
        reason: "api",
        size_bytes: undefined,
        started_at: first.started_at,
        ended_at: first.ended_at,
      },
    );
    const mpd = join(dir, "manifest.mpd");
    const text = await Deno.readTextFile(mpd);
    assert.equal([...text.matchAll(/<Period /g)].length, 1, text);
    assert.match(text, /initialization="init_2\.m4s"/);
    assert.equal(await decodeErrors(mpd), "");
    const video = (await probe(mpd)).streams.find((s) => s.codec_type === "video");
    assert.equal(Number(video?.nb_read_frames), sent.videoFrames, "the second recording is whole");
    const secondRow = await indexRow(service, secondId);
    assert.ok(
      secondRow !== undefined && secondRow.mp4_path !== null,
      `the row names the MP4: ${JSON.stringify(secondRow)}`,
    );
    assert.equal(await decodeErrors(join(service.root, second.mp4_path!)), "");

    const last = await service.fetch(`/api/recordings/${secondId}`, { method: "DELETE" });
    assert.equal(last.status, 200, await last.clone().text());
    assert.equal((await last.json()).deleted, true);
    assert.deepEqual(sorted(folderNames(dir)), [], "the last recording takes the manifests and index with it");
    assert.equal(await indexRow(service, secondId), undefined);
    await expectError(await service.fetch(`/api/recordings/${secondId}`, { method: "DELETE" }), 404, "not_found");
  } finally {
    await service.stop();
  }
});
