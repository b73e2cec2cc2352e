import assert from "node:assert/strict";
import { join } from "node:path";
import { CLIP_PATH, loadClip } from "../../scripts/clip.ts";
import { CLIP_TRACKS, clipPackets } from "../../tests/helpers/clip_packets.ts";
import { waitFor } from "../../tests/helpers/service.ts";
import type { RecordingIndex } from "../manifest/mod.ts";
import { flvWholePrefixBytes } from "../media/mod.ts";
import { exec, hasCommand } from "../media/test_helpers.ts";
import { MemoryStore, RecordingFiles } from "../storage/mod.ts";
import { StorageError } from "../shared/errors.ts";
import { concat } from "../shared/testing.ts";
import { silentLogger } from "../shared/log.ts";
import { Capture } from "./capture.ts";
import { deleteRecording } from "./delete_recording.ts";
import { recoverRecordings } from "./recovery.ts";
import { segmentName } from "./layout.ts";
import { type FolderOptions, RecordFolder } from "./record_folder.ts";
import { freshFiles, ReplaySource } from "./test_sources.ts";

const clip = await loadClip();
const HAS_FFMPEG = hasCommand("ffmpeg") && hasCommand("ffprobe");
const TRACKS = CLIP_TRACKS;

async function objects(files: RecordingFiles): Promise<string[]> {
  return (await files.local.list("cam/2026/11/21/")).map((k) => k.slice("cam/2026/11/21/".length));
}

async function text(files: RecordingFiles, name: string): Promise<string> {
  return new TextDecoder().decode(await files.read(`cam/2026/11/21/${name}`));
}

/** A recording of the replayed source into the day's folder: a capture writing a period of a record folder. */
function session(
  files: RecordingFiles,
  source: ReplaySource,
  clock: { ms: number },
  recordId: string,
  folderOptions: Partial<FolderOptions> = {},
) {
  const nowMs = { nowMs: () => clock.ms };
  const folder = new RecordFolder({
    files,
    clock: nowMs,
    log: silentLogger,
    streamId: "cam",
    recordDir: "cam/2026/11/21",
    hls: true,
    ...folderOptions,
  });
  let segments = 0;
  let finished = false;
  const capture = new Capture({
    source,
    clock: nowMs,
    segmentDurationMs: 2000,
    target: { folder, recordId },
    part: 1,
    nextPart: () => ++parts,
  });
  let parts = 1;
  return {
    folder,
    capture,
    async start() {
      capture.start();
      await folder.idle();
    },
    async stop() {
      await capture.stop();
      folder.finishRecording(recordId);
      await folder.idle();
      finished = true;
      segments = (await index(files)).periods.filter((p) => p.recordId === recordId)
        .reduce((n, p) => n + (p.video?.segments.length ?? 0) + (p.audio?.segments.length ?? 0), 0);
    },
    status() {
      return {
        state: finished ? "finished" : "recording",
        segments,
        stats: capture.stats,
        storageErrors: folder.storageErrors,
        lastStorageError: folder.lastStorageError,
      };
    },
  };
}

/** A whole recording of `seconds` of the clip. */
async function record(files: RecordingFiles, source: ReplaySource, clock: { ms: number }, id: string, seconds = 4) {
  const recording = session(files, source, clock, id);
  await recording.start();
  source.replay(seconds, clock);
  await recording.stop();
  return recording;
}

async function index(files: RecordingFiles): Promise<RecordingIndex> {
  return JSON.parse(await text(files, "index.json"));
}

Deno.test("Capture + RecordFolder writes inits, segments, the index and a manifest that turns static on stop", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(files, source, clock, "r1");
  await recording.start();
  assert.equal((await files.activeRecordings()).length, 1, "marked in progress");
  source.replay(6, clock);
  const live = await waitFor("the live manifest", () => text(files, "manifest.mpd").then((mpd) => mpd || undefined));
  assert.match(live, /type="dynamic"/);
  assert.match(live, /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="\/api\/time"\/>/);
  await recording.stop();
  assert.deepEqual(await objects(files), [
    "audio.m3u8",
    "audio_init.m4s",
    "audio_seg_0001.m4s",
    "audio_seg_0002.m4s",
    "audio_seg_0003.m4s",
    "index.json",
    "index.m3u8",
    "init.m4s",
    "manifest.mpd",
    "seg_0001.m4s",
    "seg_0002.m4s",
    "seg_0003.m4s",
    "video.m3u8",
  ]);
  const mpd = await text(files, "manifest.mpd");
  assert.match(mpd, /type="static"/);
  assert.doesNotMatch(mpd, /UTCTiming/, "a finished recording needs no clock");
  assert.match(mpd, /mediaPresentationDuration="PT6S"/);
  const status = recording.status();
  assert.equal(status.state, "finished");
  assert.equal(status.segments, 6);
  assert.equal(status.stats.videoFrames, 180);
  assert.ok(source.keyframeRequests >= 1, "asked for a keyframe at start");
  assert.deepEqual(await files.activeRecordings(), [], "no longer in progress");
});

Deno.test("Capture + RecordFolder writes EVENT HLS playlists that list each closed segment and end with ENDLIST on stop", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(files, source, clock, "r1");
  await recording.start();
  source.replay(4.5, clock);
  const segmentLines = (playlist: string) => playlist.split("\n").filter((line) => line.endsWith(".m4s"));
  // 4.5 s of media close two 2 s segments per track; the third stays open until stop.
  const expected = {
    "video.m3u8": ["seg_0001.m4s", "seg_0002.m4s"],
    "audio.m3u8": ["audio_seg_0001.m4s", "audio_seg_0002.m4s"],
  };
  for (const [name, segments] of Object.entries(expected)) {
    const live = await waitFor(`${name} to list ${segments.length} segments`, async () => {
      const playlist = await text(files, name).catch(() => "");
      return segmentLines(playlist).length >= segments.length ? playlist : undefined;
    });
    assert.match(live, /^#EXT-X-PLAYLIST-TYPE:EVENT$/m, name);
    assert.doesNotMatch(live, /#EXT-X-ENDLIST/, `${name} has no ENDLIST while recording`);
    assert.deepEqual(segmentLines(live), segments, `${name} lists the closed segments, not the open one`);
  }
  assert.match(await text(files, "index.m3u8"), /AUDIO="audio"\nvideo\.m3u8\n$/);
  await recording.stop();
  for (const name of ["video.m3u8", "audio.m3u8"]) {
    const finished = await text(files, name);
    assert.match(finished, /^#EXT-X-PLAYLIST-TYPE:EVENT$/m, name);
    assert.match(finished, /\n#EXT-X-ENDLIST\n$/, `${name} ends with ENDLIST once finished`);
    assert.equal(segmentLines(finished).length, 3, `${name} lists the tail segment too`);
  }
});

Deno.test("Capture + RecordFolder makes each fragment durable as it completes, before its segment closes", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(files, source, clock, "r1");
  await recording.start();
  source.replay(1.5, clock);
  // The first 2 s segment is still open, but its first 1 s fragment reaches the disk.
  const openKeys = await waitFor("both tracks' first fragment on disk", async () => {
    const keys = await files.local.openKeys("cam/");
    return keys.length === 2 ? keys : undefined;
  });
  assert.deepEqual(openKeys, ["cam/2026/11/21/audio_seg_0001.m4s", "cam/2026/11/21/seg_0001.m4s"]);
  const open = await files.local.readOpen("cam/2026/11/21/seg_0001.m4s");
  assert.ok(open.length > 100_000, `${open.length} bytes of the open segment are on disk`);
  await recording.stop();
});

Deno.test("Capture + RecordFolder continues numbering in a folder that already has a recording", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  await record(files, source, clock, "r1");
  const firstSegment = await files.read("cam/2026/11/21/seg_0001.m4s");
  await record(files, source, clock, "r2");
  const { periods } = await index(files);
  assert.deepEqual(periods.map((p) => [p.recordId, p.video?.startNumber, p.video?.init]), [
    ["r1", 1, "init.m4s"],
    ["r2", 3, "init_2.m4s"],
  ]);
  assert.deepEqual(await files.read("cam/2026/11/21/seg_0001.m4s"), firstSegment);
});

Deno.test("Capture + RecordFolder sets an unreadable index aside and never reuses the folder's segment numbers", async () => {
  const files = await freshFiles();
  await files.replace("cam/2026/11/21/index.json", new TextEncoder().encode("{ torn"));
  await files.replace("cam/2026/11/21/init.m4s", new Uint8Array([1]));
  await files.replace("cam/2026/11/21/seg_0007.m4s", new Uint8Array([7]));
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(files, source, clock, "r3");
  await recording.start();
  source.replay(4, clock);
  await recording.stop();
  assert.deepEqual(await files.read("cam/2026/11/21/seg_0007.m4s"), new Uint8Array([7]));
  assert.deepEqual(await files.read("cam/2026/11/21/init.m4s"), new Uint8Array([1]));
  assert.ok((await objects(files)).some((k) => k.startsWith("index.unreadable-")), "the unreadable index is kept");
  const period = (await index(files)).periods.find((p) => p.recordId === "r3")!;
  assert.ok(period.video!.startNumber >= 8, `starts at ${period.video!.startNumber}`);
  assert.equal(period.video!.init, "init_2.m4s");
});

Deno.test("Capture + RecordFolder keeps recording through a failed write and reports what is missing", async () => {
  const files = await freshFiles();
  const append = files.appendFragment.bind(files);
  files.appendFragment = (key, bytes) =>
    key.endsWith("/seg_0001.m4s") ? Promise.reject(new StorageError("disk on fire")) : append(key, bytes);
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(files, source, clock, "r4");
  await recording.start();
  source.replay(6, clock);
  await recording.stop();
  const status = recording.status();
  assert.equal(status.storageErrors, 1, "the rest of a broken segment is skipped, not failed again");
  assert.match(status.lastStorageError ?? "", /disk on fire/);
  assert.ok(!(await objects(files)).includes("seg_0001.m4s"));
  assert.ok((await objects(files)).includes("seg_0002.m4s"));
  const mpd = await text(files, "manifest.mpd");
  assert.match(mpd, /media="seg_\$Number%04d\$\.m4s" startNumber="1"/, "later segments keep their numbers");
});

Deno.test("Capture rotates at the next keyframe into another folder: every frame in exactly one recording", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const nowMs = { nowMs: () => clock.ms };
  const folder = (recordDir: string) =>
    new RecordFolder({ files, clock: nowMs, log: silentLogger, streamId: "cam", recordDir, hls: true });
  const first = folder("cam/r1");
  const capture = new Capture({
    source,
    clock: nowMs,
    segmentDurationMs: 2000,
    target: { folder: first, recordId: "r1" },
    part: 1,
    nextPart: () => assert.fail("no format change in this stream"),
  });
  capture.start();
  const second = folder("cam/r2");
  let rotated: Promise<{ cutMs: number }> | undefined;
  source.replay(7, clock, { seconds: 3, run: () => (rotated = capture.rotate({ folder: second, recordId: "r2" })) });
  assert.ok(rotated !== undefined);
  const { cutMs } = await rotated;
  await capture.stop();
  first.finishRecording("r1");
  second.finishRecording("r2");
  await Promise.all([first.idle(), second.idle()]);

  const indexOf = async (dir: string): Promise<RecordingIndex> =>
    JSON.parse(new TextDecoder().decode(await files.read(`${dir}/index.json`)));
  const [a, b] = [(await indexOf("cam/r1")).periods[0]!, (await indexOf("cam/r2")).periods[0]!];
  const endOf = (t: NonNullable<typeof a.video>) => {
    const last = t.segments[t.segments.length - 1]!;
    return last.startTicks + last.durationTicks;
  };
  // The new recording starts exactly where the old one's video ended, at a keyframe (its first segment).
  const cutTicks = endOf(a.video!);
  assert.equal(b.video!.segments[0]!.startTicks, cutTicks);
  assert.equal(b.video!.presentationTimeOffset, cutTicks);
  assert.ok(b.audio!.segments[0]!.startTicks >= b.audio!.presentationTimeOffset!, "audio starts in its period");
  assert.ok(endOf(a.audio!) <= b.audio!.segments[0]!.startTicks, "no audio in both");
  assert.equal(Date.parse(b.startedAt), cutMs);
  // Numbers continue in the new folder from 1, and its MPD starts the period at the cut.
  assert.equal(b.video!.startNumber, 1);
  const mpd = new TextDecoder().decode(await files.read("cam/r2/manifest.mpd"));
  assert.match(mpd, new RegExp(`presentationTimeOffset="${cutTicks}"`));
  assert.match(mpd, /type="static"/);
  const frames = (p: typeof a) => p.video!.segments.reduce((n, s) => n + Math.round(s.durationTicks / 3000), 0);
  assert.equal(frames(a) + frames(b), capture.stats.videoFrames, "every frame is in one of the two recordings");
});

Deno.test("Capture rotates an audio-only stream at a segment end: the new period starts at its cut", async () => {
  const files = await freshFiles();
  const source = new ReplaySource(TRACKS.filter((track) => track.kind === "audio"));
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const nowMs = { nowMs: () => clock.ms };
  const folder = (recordDir: string) =>
    new RecordFolder({ files, clock: nowMs, log: silentLogger, streamId: "cam", recordDir, hls: true });
  const [first, second] = [folder("cam/r1"), folder("cam/r2")];
  const capture = new Capture({
    source,
    clock: nowMs,
    segmentDurationMs: 2000,
    target: { folder: first, recordId: "r1" },
    part: 1,
    nextPart: () => assert.fail("no format change in this stream"),
  });
  capture.start();
  let rotated: Promise<{ cutMs: number }> | undefined;
  source.replay(7, clock, { seconds: 3, run: () => (rotated = capture.rotate({ folder: second, recordId: "r2" })) });
  const { cutMs } = await rotated!;
  await capture.stop();
  first.finishRecording("r1");
  second.finishRecording("r2");
  await Promise.all([first.idle(), second.idle()]);
  const indexOf = async (dir: string): Promise<RecordingIndex> =>
    JSON.parse(new TextDecoder().decode(await files.read(`${dir}/index.json`)));
  const [a, b] = [(await indexOf("cam/r1")).periods[0]!.audio!, (await indexOf("cam/r2")).periods[0]!];
  const last = a.segments[a.segments.length - 1]!;
  assert.equal(b.audio!.presentationTimeOffset, last.startTicks + last.durationTicks);
  assert.equal(b.audio!.segments[0]!.startTicks, b.audio!.presentationTimeOffset);
  assert.equal(Date.parse(b.startedAt), cutMs);
  assert.match(new TextDecoder().decode(await files.read("cam/r2/manifest.mpd")), /type="static"/);
});

/** MPEG-TS segments named as the default ts_template names them. */
const TS_KEY: FolderOptions["tsKey"] = ({ number, startMs }) =>
  `cam/2026/11/21/${Math.floor(startMs / 1000)}_${number}.ts`;

Deno.test("with MPEG-TS on, each segment is also a .ts of the same times, listed in ts.m3u8; deletion takes them", async () => {
  const files = await freshFiles();
  const source = new ReplaySource(TRACKS.filter((track) => track.kind === "video"));
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(files, source, clock, "r1", { tsKey: TS_KEY });
  await recording.start();
  source.replay(6, clock);
  await recording.stop();
  const period = (await index(files)).periods[0]!;
  const t0S = Date.UTC(2026, 10, 21, 10) / 1000;
  assert.deepEqual(period.ts?.segments.map((s) => s.name), [`${t0S}_1.ts`, `${t0S + 2}_2.ts`, `${t0S + 4}_3.ts`]);
  assert.deepEqual(
    period.ts?.segments.map(({ startTicks, durationTicks }) => ({ startTicks, durationTicks })),
    period.video?.segments,
  );
  const playlist = await text(files, "ts.m3u8");
  assert.match(playlist, new RegExp(`#EXTINF:2.000,\n${t0S}_1.ts\n[^]*#EXT-X-ENDLIST\n$`));
  const first = (await files.read(`cam/2026/11/21/${t0S}_1.ts`))!;
  assert.equal(first.length % 188, 0);
  assert.equal(first[0], 0x47, "a TS packet");
  await deleteRecording(files, { nowMs: () => clock.ms }, "cam/2026/11/21", "r1");
  assert.deepEqual(await objects(files), [], "the .ts segments and ts.m3u8 went with the recording");
});

Deno.test("with MPEG-TS on, Opus audio gets no TS output: the index and the folder's summary say why", async () => {
  const files = await freshFiles();
  const source = new ReplaySource(); // the clip is H.264 + Opus
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(files, source, clock, "r1", { tsKey: TS_KEY });
  await recording.start();
  source.replay(4, clock);
  await recording.stop();
  const ts = (await index(files)).periods[0]!.ts;
  assert.deepEqual(ts?.segments, []);
  assert.match(ts?.refused ?? "", /"Opus".*does not re-encode/);
  assert.deepEqual(recording.folder.summary("r1").formatProblems, [ts!.refused]);
  assert.deepEqual((await objects(files)).filter((name) => name.includes("ts")), []);
});

/** FLV files named as the default flv_template names them (start fixed, end in seconds). */
const FLV_KEY: FolderOptions["flvKey"] = ({ recordId, endMs }) =>
  `cam/2026/11/21/${recordId}_${Math.round(endMs / 1000)}.flv`;

/** ffprobe's video packets of `bytes` (an FLV): [pts in ms, keyframe]. */
async function flvVideoPackets(bytes: Uint8Array): Promise<[number, boolean][]> {
  const path = await Deno.makeTempFile({ suffix: ".flv" });
  await Deno.writeFile(path, bytes);
  const out = await exec("ffprobe", [
    ...["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts,flags", "-of", "csv=p=0", path],
  ]);
  return out.stdout.trim().split("\n").filter((line) => line !== "").map((line) => {
    const [pts, flags] = line.split(",");
    return [Number(pts), flags!.startsWith("K")];
  });
}

Deno.test({
  name: "with FLV on, a recording spliced from two captures is one FLV, named at its end, with the gap in its times",
  ignore: !HAS_FFMPEG,
  fn: async () => {
    const files = await freshFiles();
    const source = new ReplaySource(TRACKS.filter((track) => track.kind === "video"));
    const clock = { ms: Date.UTC(2026, 10, 21, 10) };
    const nowMs = { nowMs: () => clock.ms };
    const folder = new RecordFolder({
      files,
      clock: nowMs,
      log: silentLogger,
      streamId: "cam",
      recordDir: "cam/2026/11/21",
      hls: false,
      flvKey: FLV_KEY,
    });
    for (const part of [1, 2]) {
      const capture = new Capture({
        source,
        clock: nowMs,
        segmentDurationMs: 2000,
        target: { folder, recordId: "r1" },
        part,
        nextPart: () => 3,
      });
      capture.start();
      source.replay(4, clock);
      await capture.stop();
      await folder.idle();
      assert.deepEqual(await files.local.openKeys("cam/"), ["cam/2026/11/21/r1.flv"], "open while recording");
      clock.ms += 5000; // the publisher comes back 5 s later
    }
    folder.finishRecording("r1");
    await folder.idle();
    const endS = Date.UTC(2026, 10, 21, 10) / 1000 + 13;
    const key = `cam/2026/11/21/r1_${endS}.flv`;
    assert.equal(folder.summary("r1").flvPath, key);
    assert.equal((await index(files)).periods[0]!.flv, key);
    const packets = await flvVideoPackets((await files.read(key))!);
    assert.equal(packets.length, 240, "every frame of both parts");
    assert.ok(packets.every(([pts], i) => i === 0 || pts > packets[i - 1]![0]), "times only grow");
    const gapMs = packets[120]![0] - packets[119]![0];
    assert.ok(gapMs >= 5000 && gapMs < 5100, `the second part follows after the 5 s gap: ${gapMs} ms`);
    assert.ok(packets[120]![1], "the second part starts at a keyframe");
    await deleteRecording(files, nowMs, "cam/2026/11/21", "r1");
    assert.deepEqual(await objects(files), [], "the FLV file went with the recording");
  },
});

Deno.test("recovery cuts a crashed recording's FLV file back to its last whole tag and lists it", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(files, source, clock, "r1", { flvKey: FLV_KEY });
  await recording.start();
  source.replay(3, clock);
  await recording.folder.idle();
  await files.local.append("cam/2026/11/21/r1.flv", new Uint8Array([9, 0, 0, 40, 0])); // a torn tag
  await files.local.dispose();
  const [recovered] = await recoverRecordings(files, { nowMs: () => clock.ms }, silentLogger);
  assert.equal(recovered?.recordId, "r1");
  assert.equal((await index(files)).periods[0]!.flv, "cam/2026/11/21/r1.flv");
  const bytes = (await files.read("cam/2026/11/21/r1.flv"))!;
  assert.ok(bytes.length > 100_000, `${bytes.length} bytes kept`);
  assert.equal(flvWholePrefixBytes(bytes), bytes.length, "only whole tags");
  assert.ok((await objects(files)).includes("seg_0001.m4s"), "the segments are recovered beside it");
});

Deno.test("deleteRecording removes one recording's objects and period; later recordings never reuse its neighbours' names", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  for (const id of ["r1", "r2"]) await record(files, source, clock, id);
  const r2Init = await files.read("cam/2026/11/21/init_2.m4s");
  const removed = await deleteRecording(files, { nowMs: () => clock.ms }, "cam/2026/11/21", "r1");
  assert.equal(removed, 6, "two inits and two segments per track");
  const left = await objects(files);
  assert.ok(!left.includes("init.m4s") && !left.includes("seg_0001.m4s"), left.join(", "));
  assert.ok(left.includes("init_2.m4s") && left.includes("seg_0003.m4s"), left.join(", "));
  assert.deepEqual((await index(files)).periods.map((p) => p.recordId), ["r2"]);
  assert.doesNotMatch(await text(files, "manifest.mpd"), /id="r1"/);
  await record(files, source, clock, "r3");
  assert.deepEqual(await files.read("cam/2026/11/21/init_2.m4s"), r2Init, "r2's init is not overwritten");
  assert.deepEqual((await index(files)).periods.map((p) => [p.recordId, p.video?.init]), [
    ["r2", "init_2.m4s"],
    ["r3", "init_3.m4s"],
  ]);
  await assert.rejects(deleteRecording(files, { nowMs: () => clock.ms }, "cam/2026/11/21", "r1"), /not in/);
});

Deno.test("recovery gives a crashed second recording only its own segments, never the first one's", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  await record(files, source, clock, "r1");
  // The second recording is cut off by a crash before its first segment closed.
  const second = session(files, source, clock, "r2");
  await second.start();
  source.replay(1.5, clock);
  await second.folder.idle();
  const [recovered] = await recoverRecordings(files, { nowMs: () => clock.ms }, silentLogger);
  assert.equal(recovered?.recordId, "r2");
  const periods = (await index(files)).periods;
  assert.deepEqual(periods.map((p) => [p.recordId, p.video?.startNumber, p.video?.segments.length]), [
    ["r1", 1, 2],
    ["r2", 3, 1],
  ]);
});

Deno.test("recovery that cannot list the store leaves the recording for the next start instead of half-finishing it", async () => {
  const files = await freshFiles();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const crashed = session(files, source, clock, "r1");
  await crashed.start();
  source.replay(2.5, clock);
  await crashed.folder.idle();
  const store = files.store as MemoryStore;
  const list = store.list;
  store.list = () => Promise.reject(new StorageError("listing failed: store down"));
  assert.deepEqual(await recoverRecordings(files, { nowMs: () => clock.ms }, silentLogger), []);
  assert.deepEqual((await files.activeRecordings()).map((a) => a.recordId), ["r1"], "its marker stays");
  store.list = list;
  const [recovered] = await recoverRecordings(files, { nowMs: () => clock.ms }, silentLogger);
  assert.equal(recovered?.recordId, "r1");
  assert.deepEqual(await files.activeRecordings(), []);
});

Deno.test({
  name: "Capture starts the recording's next period at a keyframe of another size, each period with its own init",
  ignore: !HAS_FFMPEG,
  async fn() {
    // The clip re-encoded at 320x180: the same frames, keyframes and audio, another SPS.
    const dir = await Deno.makeTempDir({ prefix: "liverec-small-clip-" });
    const smallPath = join(dir, "small.mp4");
    await exec("ffmpeg", [
      ...["-v", "error", "-i", CLIP_PATH.pathname, "-vf", "scale=320:180", "-c:v", "libx264", "-profile:v", "baseline"],
      ...["-x264-params", "keyint=30:min-keyint=30:scenecut=0:bframes=0", "-c:a", "copy", "-t", "3", smallPath],
    ]);
    const small = await loadClip(smallPath);
    await Deno.remove(dir, { recursive: true });

    const files = await freshFiles();
    const source = new ReplaySource();
    const clock = { ms: Date.UTC(2026, 10, 21, 10) };
    const recording = session(files, source, clock, "r1");
    await recording.start();
    const first = clipPackets(clip, { seconds: 3, baseMs: clock.ms });
    const last = (kind: string) => first.findLast((p) => p.kind === kind)!.packet;
    // The second part goes on where the first ended, as one publisher's stream would.
    const second = clipPackets(small, {
      seconds: 3,
      baseMs: clock.ms + 3000,
      videoTimestampStart: 3 * 90_000,
      audioTimestampStart: 3 * 48_000,
      videoSequenceStart: last("video").sequenceNumber + 1,
      audioSequenceStart: last("audio").sequenceNumber + 1,
    });
    source.replayPackets([...first, ...second], clock);
    await recording.stop();

    assert.equal(recording.capture.stats.formatChanges, 1);
    const periods = (await index(files)).periods;
    assert.deepEqual(
      periods.map((p) => [p.recordId, p.part, p.video?.widthPx, p.video?.heightPx, p.video?.init, p.audio?.init]),
      [
        ["r1", undefined, 1280, 720, "init.m4s", "audio_init.m4s"],
        ["r1", 2, 320, 180, "init_2.m4s", "audio_init_2.m4s"],
      ],
    );
    const mpd = await text(files, "manifest.mpd");
    assert.match(mpd, /<Period id="r1"/);
    assert.match(mpd, /<Period id="r1-2"/);
    // Every frame is in one of the two periods, and each period decodes at its own size.
    const sizes: string[] = [];
    let frames = 0;
    for (const period of periods) {
      const video = period.video!;
      const read = async (name: string) => (await files.read(`cam/2026/11/21/${name}`))!;
      const parts = [await read(video.init)];
      for (let n = video.startNumber; n < video.startNumber + video.segments.length; n++) {
        parts.push(await read(segmentName("video", n)));
      }
      const path = await Deno.makeTempFile({ suffix: ".mp4" });
      await Deno.writeFile(path, concat(parts));
      const { stdout: probed } = await exec("ffprobe", [
        ...["-v", "error", "-count_frames", "-select_streams", "v"],
        ...["-show_entries", "stream=width,height,nb_read_frames", "-of", "csv=p=0", path],
      ]);
      await Deno.remove(path);
      const [width, height, count] = probed.trim().split(",");
      sizes.push(`${width}x${height}`);
      frames += Number(count);
    }
    assert.deepEqual(sizes, ["1280x720", "320x180"]);
    const sent = [...first, ...second].filter((p) => p.kind === "video" && p.packet.marker).length;
    assert.equal(frames, sent, "every frame is recorded once");
  },
});
