/**
 * Recording rules end to end: real WebRTC publishers on loopback into the running service, deciding by
 * `[[recorder.rules]]` and `auto_streams` (the most specific match wins), the API overriding the rules, the
 * on-demand callback (answers, overrides, timeout and error fallbacks) and path templates, judged by the status API,
 * the files on disk and ffprobe. Rule parsing and resolution in isolation are unit-tested in src/config.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import type { PublishResult } from "../scripts/publish.ts";
import type { RecordingIndex } from "../src/manifest/mod.ts";
import { decodeErrors, probe } from "./helpers/media_tools.ts";
import {
  publishInBackground,
  recordingFinished,
  type RecordStatus,
  recordStatus,
  type Service,
  startService,
  streamLive,
  todayFolder,
  waitFor,
} from "./helpers/service.ts";

const clip = await loadClip();

/** Publishes `seconds` of the clip to `stream` and collects every status seen while the stream was live. */
async function publishWatched(
  service: Service,
  stream: string,
  seconds: number,
): Promise<{ sent: PublishResult; live: RecordStatus[] }> {
  const publish = publishInBackground({ url: `${service.url}/whip/${stream}`, seconds, clip });
  try {
    const live: RecordStatus[] = [];
    while (!publish.ended()) {
      const now = await recordStatus(service, stream);
      if (now.stream_live) live.push(now);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { sent: await publish.result, live };
  } finally {
    await publish.result.catch(() => {});
  }
}

/** The first status of `live` that shows a recording with at least one segment, failing when there is none. */
function recordingSeen(stream: string, live: RecordStatus[]): RecordStatus {
  const seen = live.find((s) => s.recording && (s.segments ?? 0) >= 1);
  assert.ok(seen !== undefined, `${stream} was seen recording while live: ${JSON.stringify(live.at(-1))}`);
  return seen;
}

/** Asserts the recording at `mpdPath` is a finished manifest that decodes cleanly into video and audio. */
async function assertDecodes(mpdPath: string, seconds: number): Promise<void> {
  assert.match(await Deno.readTextFile(mpdPath), /type="static"/, mpdPath);
  assert.equal(await decodeErrors(mpdPath), "", mpdPath);
  const { streams, durationS } = await probe(mpdPath);
  assert.deepEqual(streams.map((s) => s.codec_type).sort(), ["audio", "video"], mpdPath);
  assert.ok(Math.abs(durationS - seconds) <= 1, `${mpdPath}: ${durationS} s, published ${seconds} s`);
}

/** Every path under `dir` except liverec's own hidden ones, relative to it; empty when `dir` does not exist. */
async function treeOf(dir: string, under = ""): Promise<string[]> {
  const paths: string[] = [];
  try {
    for await (const entry of Deno.readDir(join(dir, under))) {
      if (entry.name.startsWith(".")) continue;
      const path = under === "" ? entry.name : `${under}/${entry.name}`;
      paths.push(path);
      if (entry.isDirectory) paths.push(...await treeOf(dir, path));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return paths.sort();
}

/** Log lines of the message `message` about `stream`. */
function logLines(service: Service, message: string, stream: string): string[] {
  const about = new RegExp(`\\sstream=${stream}(\\s|$)`);
  return service.logs().split("\n").filter((line) => line.includes(` ${message} `) && about.test(line));
}

Deno.test("the most specific rule decides: exact beats wildcard beats *, auto_streams included; a rule's template and prefix place the folder", async () => {
  const service = await startService({
    toml: `[recorder]\nsegment_duration = 1\nauto_streams = ["cam-auto"]\n\n` +
      `[[recorder.rules]]\nmatch = "*"\nrecord = "always"\n\n` +
      `[[recorder.rules]]\nmatch = "cam-*"\nrecord = "never"\n\n` +
      // As many literal characters as "cam-vip" and earlier in the file: only "exact beats wildcard" rules it out.
      `[[recorder.rules]]\nmatch = "cam-vip*"\nrecord = "never"\n\n` +
      `[[recorder.rules]]\nmatch = "cam-vip"\nrecord = "always"\npath_template = "vip/{stream}/{record_id}"\n` +
      `prefix = "archive"\n`,
  });
  try {
    const streams = ["other", "cam-1", "cam-vip", "cam-auto"] as const;
    const published = await Promise.all(streams.map((stream) => publishWatched(service, stream, 4)));
    const [other, cam1, vip, auto] = published;
    await Promise.all(streams.map((stream) => recordingFinished(service, stream)));

    // "*" applies to a stream nothing more specific matches, with the default daily folder.
    const otherSeen = recordingSeen("other", other!.live);
    assert.equal(otherSeen.reason, "recorder.rules[0]");
    assert.equal(otherSeen.record_dir, `other/${todayFolder()}`);
    await assertDecodes(join(service.root, "other", todayFolder(), "manifest.mpd"), 4);

    // "cam-*" (never) beats "*": live the whole time, never recorded, nothing written.
    assert.ok(cam1!.live.length >= 10, `cam-1 was seen live ${cam1!.live.length} times`);
    for (const seen of cam1!.live) assert.equal(seen.recording, false, JSON.stringify(seen));
    assert.deepEqual(logLines(service, "recording started", "cam-1"), []);
    assert.equal(logLines(service, "recording started", "other").length, 1, "the log names what was started");

    // The exact "cam-vip" beats "cam-*" and "cam-vip*": recorded into prefix + its own template.
    const vipSeen = recordingSeen("cam-vip", vip!.live);
    assert.equal(vipSeen.reason, "recorder.rules[3]");
    assert.match(vipSeen.record_id ?? "", /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    assert.equal(vipSeen.record_dir, `archive/vip/cam-vip/${vipSeen.record_id}`);
    assert.equal(vipSeen.mpd_path, `archive/vip/cam-vip/${vipSeen.record_id}/manifest.mpd`);
    await assertDecodes(join(service.root, vipSeen.mpd_path!), 4);

    // The exact auto_streams pattern beats the explicit "cam-*" wildcard although it comes after it.
    const autoSeen = recordingSeen("cam-auto", auto!.live);
    assert.equal(autoSeen.reason, "recorder.auto_streams[0]");
    assert.equal(autoSeen.record_dir, `cam-auto/${todayFolder()}`);
    await assertDecodes(join(service.root, "cam-auto", todayFolder(), "manifest.mpd"), 4);

    // Nothing anywhere else: no cam-1 folder, no cam-vip folder outside archive/.
    const top = (await treeOf(service.root)).filter((path) => !path.includes("/"));
    assert.deepEqual(top, ["archive", "cam-auto", "other"]);
    const vipTree = await treeOf(join(service.root, "archive"));
    assert.deepEqual(vipTree.filter((path) => path.split("/").length <= 3), [
      "vip",
      "vip/cam-vip",
      `vip/cam-vip/${vipSeen.record_id}`,
    ]);
  } finally {
    await service.stop();
  }
});

Deno.test("the API overrides a never rule, and a recording it stops under an always rule stays stopped while the publish goes on", async () => {
  const service = await startService({
    toml: `[recorder]\nsegment_duration = 1\n\n` +
      `[[recorder.rules]]\nmatch = "*"\nrecord = "always"\n\n` +
      `[[recorder.rules]]\nmatch = "cam-*"\nrecord = "never"\n`,
  });
  try {
    const seconds = 6;
    const watched = async (stream: string, during: () => Promise<RecordStatus[]>) => {
      const publish = publishInBackground({ url: `${service.url}/whip/${stream}`, seconds, clip });
      try {
        const result = await during();
        // The publish must still be running: what `during` observed happened while the stream was live.
        assert.equal(publish.ended(), false, `${stream}'s publish was still running when the checks ended`);
        await publish.result;
        return result;
      } finally {
        await publish.result.catch(() => {});
      }
    };

    const [cam2After, keepAfter] = await Promise.all([
      watched("cam-2", async () => {
        await streamLive(service, "cam-2");
        assert.equal((await recordStatus(service, "cam-2")).recording, false, "cam-* is never recorded by the rules");
        const started = await service.fetch("/api/record/cam-2", { method: "POST" });
        assert.equal(started.status, 200);
        const info = await started.json();
        assert.equal(info.record_dir, `cam-2/${todayFolder()}`);
        // Two segments of each track (the count is of both tracks' segments).
        const running = await waitFor("cam-2 segments", async () => {
          const now = await recordStatus(service, "cam-2");
          return (now.segments ?? 0) >= 4 ? now : undefined;
        });
        assert.equal(running.recording, true);
        assert.equal(running.reason, "api");
        const stopped = await service.fetch("/api/record/cam-2", { method: "DELETE" });
        assert.equal(stopped.status, 200);
        assert.equal((await stopped.json()).mpd_path, `cam-2/${todayFolder()}/manifest.mpd`);
        return await watchWhileLive(service, "cam-2", 1000);
      }),
      watched("keep-1", async () => {
        const running = await waitFor("keep-1 recording by its rule", async () => {
          const now = await recordStatus(service, "keep-1");
          return now.recording && (now.segments ?? 0) >= 1 ? now : undefined;
        });
        assert.equal(running.reason, "recorder.rules[0]");
        const stopped = await service.fetch("/api/record/keep-1", { method: "DELETE" });
        assert.equal(stopped.status, 200);
        await stopped.body?.cancel();
        return await watchWhileLive(service, "keep-1", 2000);
      }),
    ]);

    for (const seen of [...cam2After, ...keepAfter]) assert.equal(seen.recording, false, JSON.stringify(seen));
    assert.equal(logLines(service, "recording started", "keep-1").length, 1, "the rule started keep-1 once only");

    const cam2Mpd = join(service.root, "cam-2", todayFolder(), "manifest.mpd");
    assert.match(await Deno.readTextFile(cam2Mpd), /type="static"/);
    assert.equal(await decodeErrors(cam2Mpd), "");
    const cam2 = await probe(cam2Mpd);
    assert.deepEqual(cam2.streams.map((s) => s.codec_type).sort(), ["audio", "video"]);
    assert.ok(cam2.durationS >= 1.5 && cam2.durationS < seconds, `cam-2 recorded ${cam2.durationS} s`);

    const keepIndex: RecordingIndex = JSON.parse(
      await Deno.readTextFile(join(service.root, "keep-1", todayFolder(), "index.json")),
    );
    assert.equal(keepIndex.periods.length, 1, "no second recording of keep-1");
    const keepMpd = join(service.root, "keep-1", todayFolder(), "manifest.mpd");
    assert.equal(await decodeErrors(keepMpd), "");
    const keep = await probe(keepMpd);
    assert.ok(keep.durationS < seconds - 1, `keep-1 stopped early: ${keep.durationS} s of ${seconds} s`);
  } finally {
    await service.stop();
  }
});

/** Statuses of `stream` every 100 ms for `ms` (while it must stay live). */
async function watchWhileLive(service: Service, stream: string, ms: number): Promise<RecordStatus[]> {
  const seen: RecordStatus[] = [];
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const now = await recordStatus(service, stream);
    assert.ok(now.stream_live, `${stream} is still live`);
    seen.push(now);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen;
}

Deno.test("on-demand rules ask the callback: yes with a segment override, no, a slow answer falls back to record, HTTP 500 to skip", async () => {
  const asked: { stream: string; body: Record<string, unknown>; contentType: string | null; method: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (request) => {
    const body = await request.json() as Record<string, unknown>;
    const stream = String(body.stream);
    asked.push({ stream, body, contentType: request.headers.get("content-type"), method: request.method });
    if (stream.startsWith("yes-")) return Response.json({ record: true, segment_duration: 1 });
    if (stream.startsWith("slow-")) {
      // Too late for the 0.5 s timeout; were it waited for, this "no" would win over the fallback's "record".
      await new Promise((resolve) => setTimeout(resolve, 3000));
      return Response.json({ record: false });
    }
    // A 500 whose body says yes: only the status may count.
    if (stream.startsWith("bad-")) return Response.json({ record: true }, { status: 500 });
    return Response.json({ record: false });
  });
  const url = `http://127.0.0.1:${server.addr.port}/should-record`;
  const rule = (match: string, extra = "") =>
    `[[recorder.rules]]\nmatch = "${match}"\nrecord = "on_demand"\non_demand_url = "${url}"\n${extra}\n`;
  const service = await startService({
    toml: `[recorder]\nsegment_duration = 2\nnode_alias = "rules-node"\n\n` +
      rule("yes-*") +
      rule("no-*") +
      rule("slow-*", `on_demand_timeout = 0.5\non_demand_fallback = "record"\n`) +
      rule("bad-*", `on_demand_fallback = "skip"\n`),
  });
  try {
    const streams = ["yes-1", "no-1", "slow-1", "bad-1"] as const;
    const before = Date.now();
    const [yes, no, slow, bad] = await Promise.all(streams.map((stream) => publishWatched(service, stream, 4)));
    await Promise.all(streams.map((stream) => recordingFinished(service, stream)));

    // One question per stream: a JSON POST naming it, this node and when it was published.
    assert.deepEqual(asked.map((a) => a.stream).sort(), [...streams].sort());
    for (const question of asked) {
      assert.equal(question.method, "POST");
      assert.match(question.contentType ?? "", /^application\/json/);
      assert.equal(question.body.node_alias, "rules-node");
      const publishedAtMs = Date.parse(String(question.body.published_at));
      assert.ok(publishedAtMs >= before - 1000 && publishedAtMs <= Date.now(), String(question.body.published_at));
    }

    // What the callback decided for each stream, and why, as the log says it.
    const decisions: [string, RegExp][] = [
      ["yes-1", /record=true reason="callback said yes"/],
      ["no-1", /record=false reason="callback said no"/],
      ["slow-1", /record=true reason="timed out after 500 ms; fallback record"/], // no answer within 0.5 s
      ["bad-1", /record=false reason="HTTP 500; fallback skip"/],
    ];
    for (const [stream, decided] of decisions) {
      assert.match(logLines(service, "on-demand recording decided", stream).join("\n"), decided, stream);
    }

    // yes-1: recorded, with the answer's 1 s segments instead of the configured 2 s.
    const yesSeen = recordingSeen("yes-1", yes!.live);
    assert.equal(yesSeen.reason, "recorder.rules[0]");
    assert.equal(logLines(service, "recording started", "yes-1").length, 1, "yes-1 was started once");
    const yesDir = join(service.root, "yes-1", todayFolder());
    await assertDecodes(join(yesDir, "manifest.mpd"), 4);
    const index: RecordingIndex = JSON.parse(await Deno.readTextFile(join(yesDir, "index.json")));
    const video = index.periods[0]?.video;
    assert.ok(video !== undefined, JSON.stringify(index));
    const durationsS = video.segments.map((s) => s.durationTicks / video.timescale);
    assert.ok(durationsS.length >= 3, `segments of ${durationsS.join(", ")} s`);
    for (const durationS of durationsS.slice(0, -1)) {
      assert.ok(Math.abs(durationS - 1) <= 0.1, `segments of ~1 s: ${durationsS.join(", ")}`);
    }

    // slow-1: the fallback records it.
    const slowSeen = recordingSeen("slow-1", slow!.live);
    assert.equal(slowSeen.reason, "recorder.rules[2]");
    await assertDecodes(join(service.root, "slow-1", todayFolder(), "manifest.mpd"), 4);

    // no-1 (the callback said no) and bad-1 (the fallback skips): live throughout, never recorded, nothing written.
    for (const [stream, watched] of [["no-1", no!], ["bad-1", bad!]] as const) {
      assert.ok(watched.live.length >= 10, `${stream} was watched while live ${watched.live.length} times`);
      for (const seen of watched.live) assert.equal(seen.recording, false, JSON.stringify(seen));
      assert.deepEqual(await treeOf(join(service.root, stream)), [], `nothing written for ${stream}`);
      assert.deepEqual(logLines(service, "recording started", stream), []);
    }
  } finally {
    await service.stop();
    await server.shutdown();
  }
});

Deno.test("a path template with date, hour and {start} names the folder from the recording's UTC start", async () => {
  const service = await startService({
    toml: `[recorder]\nsegment_duration = 1\n\n` +
      `[[recorder.rules]]\nmatch = "tpl-*"\npath_template = "{stream}/{yyyy}{MM}{dd}/{HH}/{start}"\n`,
  });
  try {
    const before = Date.now();
    const { live } = await publishWatched(service, "tpl-1", 3);
    const after = Date.now();
    await recordingFinished(service, "tpl-1");
    const seen = recordingSeen("tpl-1", live);
    const startedAtMs = Date.parse(seen.started_at ?? "");
    assert.ok(startedAtMs >= before && startedAtMs <= after, `started at ${seen.started_at}`);
    const iso = new Date(startedAtMs).toISOString(); // 2026-11-21T10:05:03.123Z
    const [date, time] = [iso.slice(0, 10), iso.slice(11, 19)];
    const expected = `tpl-1/${date.replaceAll("-", "")}/${time.slice(0, 2)}/${date}T${time.replaceAll(":", "-")}Z`;
    assert.equal(seen.record_dir, expected);
    assert.match(seen.record_dir ?? "", /^tpl-1\/\d{8}\/\d{2}\/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
    await assertDecodes(join(service.root, expected, "manifest.mpd"), 3);
    assert.deepEqual((await treeOf(service.root)).filter((path) => path.split("/").length <= 4), [
      "tpl-1",
      expected.split("/").slice(0, 2).join("/"),
      expected.split("/").slice(0, 3).join("/"),
      expected,
    ]);
  } finally {
    await service.stop();
  }
});

Deno.test("streams with an app: a live/* rule records live/cam into {app}/{name} folders, not vod/cam; WHIP and the API take app/name and app%2Fname", async () => {
  const service = await startService({
    toml: `[recorder]\nsegment_duration = 1\n\n` +
      `[[recorder.rules]]\nmatch = "*"\nrecord = "never"\n\n` +
      `[[recorder.rules]]\nmatch = "live/*"\npath_template = "record/{app}/{name}/{start}"\n` +
      `formats = ["dash", "mp4"]\n`,
  });
  try {
    const [live, vod] = await Promise.all([
      publishWatched(service, "live/cam", 4),
      publishWatched(service, "vod%2Fcam", 4), // published and watched by the one-segment form of vod/cam
    ]);
    await recordingFinished(service, "live/cam");

    const seen = recordingSeen("live/cam", live.live);
    assert.equal(seen.reason, "recorder.rules[1]");
    assert.match(seen.record_dir ?? "", /^record\/live\/cam\/\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z$/);
    await assertDecodes(join(service.root, seen.mpd_path!), 4);
    assert.ok(vod.live.length >= 10, `vod/cam was seen live ${vod.live.length} times`);
    for (const status of vod.live) assert.equal(status.recording, false, JSON.stringify(status));

    // The index knows the stream by its full name; the MP4 is named by {name} inside the folder.
    const row = await waitFor("the MP4 of live/cam in the index", async () => {
      const response = await service.fetch(`/api/recordings?stream=live/cam&from=2000-01-01T00:00:00Z`);
      const [first] = (await response.json()).recordings;
      return first?.state === "finished" ? first : undefined;
    });
    assert.equal(row.stream, "live/cam");
    assert.match(row.mp4_path, new RegExp(`^${seen.record_dir}/cam_[0-9TZ-]+_[0-9TZ-]+\\.mp4$`));
    assert.deepEqual((await treeOf(service.root)).filter((path) => path.split("/").length <= 3), [
      "record",
      "record/live",
      "record/live/cam",
    ]);
    assert.deepEqual(logLines(service, "recording started", "vod/cam"), []);
    assert.equal(logLines(service, "publish started", "vod/cam").length, 1, "vod%2Fcam is the stream vod/cam");
  } finally {
    await service.stop();
  }
});

Deno.test("a folder template that leaves the storage root makes the service refuse to start, naming the key", async () => {
  const failure = await startService({
    toml: `[recorder]\n\n[[recorder.rules]]\nmatch = "*"\npath_template = "../{stream}"\n`,
  }).then(
    async (service) => {
      await service.stop();
      return undefined;
    },
    (error: Error) => error.message,
  );
  assert.ok(failure !== undefined, "the service started with path_template = ../{stream}");
  assert.match(failure, /exited with 2 before listening/);
  assert.match(failure, /invalid config: "recorder\.rules\[0\]\.path_template" is invalid/);
  assert.match(failure, /"\.\.\/\{stream\}"/);
  assert.match(failure, /must not contain "\." or "\.\." segments/);
});
