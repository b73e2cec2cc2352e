/**
 * Recording to an S3 bucket end to end: the running service records real WebRTC into its spool and uploads to
 * s3rver (a separate Node process on loopback), sometimes through a counting proxy that can fail on cue. What
 * lands in the bucket is read back over HTTP and judged by ffmpeg/ffprobe; outages, presigned redirects and
 * hostile paths are checked from the outside. OSS and the store adapter alone are covered in
 * storage_backends_test.ts.
 */

import assert from "node:assert/strict";
import { basename, dirname, join } from "node:path";
import { loadClip } from "../scripts/clip.ts";
import { publishClip } from "../scripts/publish.ts";
import { decodeErrors, probe } from "./helpers/media_tools.ts";
import { type S3Server, startS3Server } from "./helpers/s3_server.ts";
import { type ProxiedRequest, startS3Proxy } from "./helpers/s3_proxy.ts";
import {
  publishAndKill,
  recordingFinished,
  recordStatus,
  type Service,
  startService,
  streamLive,
  waitFor,
} from "./helpers/service.ts";
import { rawRequest } from "./helpers/raw_http.ts";

const clip = await loadClip();
const BUCKET = "liverec-test";
/** The storage root inside the bucket: every recording's key starts with it. */
const ROOT = "rec";

/** What `GET /api/storage` answers with an object store. */
interface StorageStatus {
  backend: string;
  local_dir: string;
  local_bytes: number;
  spool_limit_bytes: number;
  upload: {
    pending_objects: number;
    pending_bytes: number;
    uploaded_objects: number;
    failed_attempts: number;
    last_error: string | null;
  };
}

/** The service's config for s3 storage at `endpoint` (s3rver or the proxy in front of it). */
function s3Toml(
  opts: {
    endpoint: string;
    spoolDir: string;
    segmentDurationS: number;
    autoStreams?: string;
    presignS?: number;
    extraToml?: string;
  },
): string {
  return [
    "[recorder]",
    `auto_streams = ${opts.autoStreams ?? '["*"]'}`,
    `segment_duration = ${opts.segmentDurationS}`,
    `spool_dir = ${JSON.stringify(opts.spoolDir)}`,
    "",
    "[recorder.storage]",
    'type = "s3"',
    `bucket = "${BUCKET}"`,
    `root = "/${ROOT}"`,
    'region = "us-east-1"',
    `endpoint = "${opts.endpoint}"`,
    'access_key_id = "S3RVER"',
    'secret_access_key = "S3RVER"',
    "disable_config_load = true",
    ...(opts.presignS === undefined ? [] : [`presign_expires = ${opts.presignS}`]),
    "",
    opts.extraToml ?? "",
  ].join("\n");
}

/** A service recording to s3 at `endpoint`, in its own temporary folder (the spool is `dir/spool`). */
async function startS3Service(
  opts: { endpoint: string; segmentDurationS?: number; autoStreams?: string; presignS?: number; extraToml?: string },
): Promise<{ service: Service; spool: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "liverec-s3e2e-" });
  const spool = join(dir, "spool");
  let service: Service;
  try {
    service = await startService({
      dir,
      toml: s3Toml({ ...opts, spoolDir: spool, segmentDurationS: opts.segmentDurationS ?? 2 }),
    });
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return {
    service,
    spool,
    async [Symbol.asyncDispose]() {
      await service.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function storageStatus(service: Service): Promise<StorageStatus> {
  return await (await service.fetch("/api/storage")).json();
}

/**
 * Resolves with the storage status once the queue says it owes nothing and the spool holds no file but the lock (so every
 * object was uploaded, verified and deleted), then checks that the status's byte counts agree with the empty spool.
 */
async function spoolDrained(service: Service, spool: string, timeoutMs = 15_000): Promise<StorageStatus> {
  const status = await waitFor("the spool to drain into the bucket", async () => {
    const status = await storageStatus(service);
    // The service's own lock file stays in the spool while it runs.
    const left = (await filesUnder(spool)).filter((name) => name !== join(".liverec", "lock"));
    return status.upload.pending_objects === 0 && left.length === 0 ? status : undefined;
  }, timeoutMs);
  assert.equal(status.local_bytes, 0, `an empty spool counts 0 bytes: ${JSON.stringify(status)}`);
  assert.equal(status.upload.pending_bytes, 0, `an empty spool owes 0 bytes: ${JSON.stringify(status)}`);
  return status;
}

/** Every file below `dir`, hidden ones included, relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...(await filesUnder(path)).map((name) => join(entry.name, name)));
    else found.push(entry.name);
  }
  return found.sort();
}

/** Keys in the bucket below `prefix`, listed by s3rver itself (ListObjectsV2, not through the service). */
async function bucketKeys(s3: S3Server, prefix: string): Promise<string[]> {
  const response = await fetch(`${s3.endpoint}/${BUCKET}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
  const xml = await response.text();
  assert.equal(response.status, 200, xml);
  assert.match(xml, /<IsTruncated>false<\/IsTruncated>/);
  return [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!).sort();
}

/** An object's bytes, read from s3rver directly. */
async function bucketObject(s3: S3Server, key: string): Promise<Uint8Array> {
  const response = await fetch(`${s3.endpoint}/${BUCKET}/${key}`);
  assert.equal(response.status, 200, `${key} in the bucket`);
  return await response.bytes();
}

/** The recording folder in the bucket (`rec/{stream}/YYYY/MM/DD`) and its keys, found by its manifest. */
async function recordingInBucket(s3: S3Server, streamId: string): Promise<{ folder: string; keys: string[] }> {
  const keys = await bucketKeys(s3, `${ROOT}/${streamId}/`);
  const manifests = keys.filter((key) => key.endsWith("/manifest.mpd"));
  assert.equal(manifests.length, 1, `one manifest among ${keys.join(", ")}`);
  const folder = dirname(manifests[0]!);
  assert.ok(keys.every((key) => dirname(key) === folder), `all in ${folder}: ${keys.join(", ")}`);
  return { folder, keys };
}

/** One track of a single-period manifest: what its SegmentTemplate and SegmentTimeline name. */
interface TrackTimeline {
  init: string;
  /** Names of the segments the timeline lists, in order. */
  segments: string[];
  startNumber: number;
}

/** The video and audio timelines of a one-period MPD, with every S@r expanded. */
function timelines(mpd: string): Map<string, TrackTimeline> {
  assert.equal([...mpd.matchAll(/<Period\b/g)].length, 1, mpd);
  const tracks = new Map<string, TrackTimeline>();
  for (const set of mpd.split("<AdaptationSet").slice(1)) {
    const kind = /contentType="(\w+)"/.exec(set)?.[1];
    const template = /<SegmentTemplate\b[^>]*>/.exec(set)?.[0] ?? "";
    const init = /initialization="([^"]+)"/.exec(template)?.[1];
    const media = /media="([^"]+)"/.exec(template)?.[1];
    const startNumber = Number(/startNumber="(\d+)"/.exec(template)?.[1]);
    assert.ok(kind && init && media && Number.isInteger(startNumber), `a complete SegmentTemplate: ${set}`);
    let count = 0;
    for (const s of set.matchAll(/<S\b([^>]*)\/>/g)) count += 1 + Number(/\br="(\d+)"/.exec(s[1]!)?.[1] ?? "0");
    const segments = Array.from(
      { length: count },
      (_, i) => media.replace("$Number%04d$", String(startNumber + i).padStart(4, "0")),
    );
    tracks.set(kind, { init, segments, startNumber });
  }
  return tracks;
}

/**
 * Checks that the bucket holds exactly what its manifest lists: a static MPD, both tracks numbered from 1 without
 * gaps, each listed segment and init present, and no segment the manifest does not list. Returns the manifest.
 */
async function assertBucketMatchesManifest(s3: S3Server, folder: string, keys: string[]): Promise<string> {
  const mpd = new TextDecoder().decode(await bucketObject(s3, `${folder}/manifest.mpd`));
  assert.match(mpd, /type="static"/);
  const tracks = timelines(mpd);
  assert.deepEqual([...tracks.keys()].sort(), ["audio", "video"]);
  const names = new Set(keys.map((key) => basename(key)));
  const listed = new Set<string>();
  for (const [kind, track] of tracks) {
    assert.equal(track.startNumber, 1, `${kind} numbering starts at 1`);
    assert.ok(track.segments.length >= 2, `${kind} has segments: ${track.segments}`);
    for (const name of [track.init, ...track.segments]) {
      assert.ok(names.has(name), `${kind} ${name} is in the bucket (has ${[...names].join(", ")})`);
      listed.add(name);
    }
  }
  const unlisted = [...names].filter((name) => name.endsWith(".m4s") && !listed.has(name));
  assert.deepEqual(unlisted, [], "every segment in the bucket is in the manifest");
  for (const name of ["index.json", "manifest.mpd"]) assert.ok(names.has(name), `${name} in the bucket`);
  return mpd;
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a recording to S3 lands whole in the bucket and plays from there", async () => {
  await using s3 = await startS3Server({ bucket: BUCKET });
  await using run = await startS3Service({ endpoint: s3.endpoint });
  const { service, spool } = run;
  const sent = await publishClip({ url: `${service.url}/whip/to-s3`, seconds: 6, clip });
  await recordingFinished(service, "to-s3");
  const storage = await spoolDrained(service, spool);
  assert.equal(storage.backend, `s3:${BUCKET}`);
  assert.equal(storage.local_dir, spool);
  assert.equal(storage.upload.failed_attempts, 0, `no failed upload: ${storage.upload.last_error}`);

  const { folder, keys } = await recordingInBucket(s3, "to-s3");
  assert.ok(storage.upload.uploaded_objects >= keys.length, `${storage.upload.uploaded_objects} uploads`);
  await assertBucketMatchesManifest(s3, folder, keys);
  // Read the recording back through the service: with the spool empty, its object route reads the bucket.
  const copy = join(run.service.dir, "from-bucket");
  await Deno.mkdir(copy);
  for (const key of keys) {
    const response = await service.fetch(`/api/record/object/${key.slice(ROOT.length + 1)}`);
    assert.equal(response.status, 200, key);
    const bytes = await response.bytes();
    assert.deepEqual(bytes, await bucketObject(s3, key), `${key} as served is as stored`);
    await Deno.writeFile(join(copy, basename(key)), bytes);
  }
  const mpd = join(copy, "manifest.mpd");
  assert.equal(await decodeErrors(mpd), "");
  // And as a player would: the manifest and its segments over HTTP from the service, which reads them from the bucket.
  const served = `${service.url}/api/record/object/${folder.slice(ROOT.length + 1)}/manifest.mpd`;
  assert.equal(await decodeErrors(served), "");
  const { streams, durationS } = await probe(mpd);
  const video = streams.find((s) => s.codec_type === "video");
  const audio = streams.find((s) => s.codec_type === "audio");
  assert.ok(video && audio, `both streams present: ${JSON.stringify(streams)}`);
  assert.equal(Number(video.nb_read_frames), sent.videoFrames, "every video frame sent is in the bucket");
  assert.ok(Math.abs(durationS - 6) <= 0.5, `duration ${durationS} s within 0.5 s of 6 s`);
});

Deno.test("an S3 outage loses nothing and uploads nothing twice", async () => {
  await using s3 = await startS3Server({ bucket: BUCKET });
  await using proxy = startS3Proxy(s3.endpoint);
  await using run = await startS3Service({ endpoint: proxy.endpoint, segmentDurationS: 1 });
  const { service, spool } = run;
  const abort = new AbortController();
  const publishing = publishClip({ url: `${service.url}/whip/outage`, seconds: 12, clip, signal: abort.signal });
  publishing.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
  let videoFramesSent = -1;
  try {
    // Two seconds in, once the second video segment was verified in the bucket, S3 goes down: the proxy answers
    // 503 from the next request on, so the outage starts between two objects (one starting between an object's
    // PUT and its verifying HEAD makes the queue send that object again: its verification failed). Once the
    // service has met a 503, s3rver itself is killed and the proxy answers 502 for the dead endpoint behind it.
    // S3 comes back (s3rver restarted on the same port and folder) once four more video segments wait in the
    // spool, about four seconds later.
    const verified = (r: ProxiedRequest) => r.method === "HEAD" && r.status === 200 && /\/seg_0002\.m4s$/.test(r.key);
    await within("the second video segment to be uploaded", 15_000, proxy.failAfter(verified));
    const refused = () => proxy.requests.filter((r) => r.status === 503 || r.status === 502);
    await waitFor("an upload to meet a 503", () => Promise.resolve(refused().length > 0 || undefined));
    await s3.kill();
    proxy.forward();
    const waitingSegments = async () =>
      (await filesUnder(spool)).filter((name) => /(?:^|\/)seg_\d+\.m4s$/.test(name)).length;
    const s3Failure = /writing "outage\/[^"]+" to s3:liverec-test failed: .*(?:ServiceUnavailable|BadGateway)/;
    const during = await waitFor("failed uploads to be reported while S3 is down", async () => {
      const status = await storageStatus(service);
      const reported = status.upload.failed_attempts > 0 && s3Failure.test(status.upload.last_error ?? "");
      return reported && refused().length >= 3 && (await waitingSegments()) >= 4 ? status : undefined;
    });
    assert.ok(proxy.requests.some((r) => r.status === 502), "uploads went on failing with s3rver down");
    assert.ok(during.local_bytes > 0 && during.upload.pending_bytes > 0, "the recording goes on into the spool");
    assert.equal((await recordStatus(service, "outage")).recording, true);
    await s3.restart();
    videoFramesSent = (await publishing).videoFrames;
    await recordingFinished(service, "outage");
    const drained = await spoolDrained(service, spool, 30_000);
    assert.ok(drained.upload.failed_attempts >= during.upload.failed_attempts);
  } finally {
    abort.abort();
    await publishing.catch(() => {});
  }

  const { folder, keys } = await recordingInBucket(s3, "outage");
  await assertBucketMatchesManifest(s3, folder, keys);
  const puts = proxy.successfulPuts();
  for (const key of keys) {
    const count = puts.get(key) ?? 0;
    if (key.endsWith(".m4s")) assert.equal(count, 1, `${key} was PUT ${count} times`);
    else assert.ok(count >= 1, `${key} was PUT through the proxy`);
  }
  const stray = [...puts.keys()].filter((key) => !keys.includes(key));
  assert.deepEqual(stray, [], "nothing was uploaded that is not in the recording");

  const copy = join(run.service.dir, "from-bucket");
  await Deno.mkdir(copy);
  for (const key of keys) await Deno.writeFile(join(copy, basename(key)), await bucketObject(s3, key));
  const mpd = join(copy, "manifest.mpd");
  assert.equal(await decodeErrors(mpd), "");
  const video = (await probe(mpd)).streams.find((s) => s.codec_type === "video");
  assert.equal(Number(video?.nb_read_frames), videoFramesSent, "every video frame sent is in the bucket");
});

Deno.test("presign_expires serves stored objects by redirect", async () => {
  await using s3 = await startS3Server({ bucket: BUCKET });
  await using run = await startS3Service({ endpoint: s3.endpoint, presignS: 300 });
  const { service, spool } = run;
  const abort = new AbortController();
  const publishing = publishClip({ url: `${service.url}/whip/signed`, seconds: 6, clip, signal: abort.signal });
  publishing.catch(() => {});
  let mpdPath: string;
  try {
    mpdPath = await waitFor("a recording with a segment", async () => {
      const status = await recordStatus(service, "signed");
      return (status.segments ?? 0) >= 1 ? status.mpd_path : undefined;
    });
    // With S3 frozen nothing written from now on can leave the spool: such an object is served by the service, not
    // redirected. (A version written before may still be removed, its upload having finished just before.)
    s3.pause();
    const pausedAtMs = Date.now();
    try {
      await waitFor("a live manifest written to the spool after S3 froze", async () => {
        const info = await Deno.stat(join(spool, mpdPath)).catch(() => undefined);
        return info?.isFile && (info.mtime?.getTime() ?? 0) > pausedAtMs ? true : undefined;
      });
      const local = await service.fetch(`/api/record/object/${mpdPath}`, { redirect: "manual" });
      assert.equal(local.status, 200);
      assert.match(await local.text(), /type="dynamic"/);
    } finally {
      s3.resume();
    }
    await publishing;
  } finally {
    abort.abort();
    await publishing.catch(() => {});
  }
  await recordingFinished(service, "signed");
  await spoolDrained(service, spool);

  const key = `${ROOT}/${mpdPath}`;
  for (const method of ["GET", "HEAD"]) {
    const response = await service.fetch(`/api/record/object/${mpdPath}`, { method, redirect: "manual" });
    await response.body?.cancel();
    assert.equal(response.status, 302, method);
    const location = response.headers.get("location") ?? "";
    assert.ok(location.startsWith(`${s3.endpoint}/${BUCKET}/${key}?`), `${method} redirected to ${location}`);
    assert.match(location, /X-Amz-Expires=300/);
    assert.match(location, /X-Amz-Signature=[0-9a-f]{64}/);
  }
  const location = (await service.fetch(`/api/record/object/${mpdPath}`, { redirect: "manual" })).headers
    .get("location")!;
  const signed = await fetch(location);
  assert.equal(signed.status, 200);
  const stored = await bucketObject(s3, key);
  assert.deepEqual(await signed.bytes(), stored);
  assert.match(new TextDecoder().decode(stored), /type="static"/);
  // A player following the redirect keeps its Range header.
  const segmentPath = `${dirname(mpdPath)}/seg_0001.m4s`;
  const part = await service.fetch(`/api/record/object/${segmentPath}`, { headers: { range: "bytes=0-99" } });
  assert.equal(part.status, 206);
  assert.match(part.url, /X-Amz-Signature=/);
  assert.deepEqual(await part.bytes(), (await bucketObject(s3, `${ROOT}/${segmentPath}`)).subarray(0, 100));
});

Deno.test("hostile object paths and base_dirs are refused with an s3 backend too", async () => {
  await using s3 = await startS3Server({ bucket: BUCKET });
  await using proxy = startS3Proxy(s3.endpoint);
  await using run = await startS3Service({ endpoint: proxy.endpoint, autoStreams: "[]" });
  const { service, spool } = run;
  // Secrets one level up: in the bucket above the storage root, and in the folder holding the spool.
  const put = await fetch(`${s3.endpoint}/${BUCKET}/secret.txt`, { method: "PUT", body: "TOP-SECRET-CONTENT" });
  assert.equal(put.status, 200);
  await put.body?.cancel();
  await Deno.writeTextFile(join(dirname(spool), "secret.txt"), "TOP-SECRET-CONTENT");

  // Each raw path, and the store keys it may make the service look up. Deno.serve hands the app a URL parsed by
  // the WHATWG rules, which drop a "%2e" segment: "s1/%2e/x" arrives as the key "s1/x", inside the root.
  const paths: [string, string[]][] = [
    ["../secret.txt", []],
    ["%2e%2e/secret.txt", []],
    ["%2E%2E%2Fsecret.txt", []],
    ["s1/..%2F..%2Fsecret.txt", []],
    ["%2Fetc%2Fpasswd", []],
    ["..%5Csecret.txt", []],
    ["s1%00/x", []],
    ["s1/%2e/x", [`${ROOT}/s1/x`]],
  ];
  for (const [path, allowed] of paths) {
    for (const method of ["GET", "HEAD"]) {
      const seen = proxy.requests.length;
      const { status, body } = await rawRequest(service.url, method, `/api/record/object/${path}`);
      assert.ok(status === 400 || status === 404, `${method} ${path}: ${status} ${body}`);
      assert.ok(!body.includes("TOP-SECRET-CONTENT"), `${path} leaked ${body}`);
      const asked = proxy.requests.slice(seen).map((r) => r.key);
      assert.ok(asked.every((key) => allowed.includes(key)), `${method} ${path} asked the store for ${asked}`);
    }
  }
  const hostileBatch = proxy.requests.length;

  // base_dir is checked before anything is looked up, with the stream live so that a good one would start.
  const abort = new AbortController();
  const publishing = publishClip({ url: `${service.url}/whip/s1`, seconds: 30, clip, signal: abort.signal });
  publishing.catch(() => {});
  try {
    await streamLive(service, "s1");
    const baseDirs = ["../x", "/abs", "a\\b", "a/../b", "%2e%2e/x", "a//b", "a\u0000b", "a/./b", "", "x".repeat(600)];
    for (const baseDir of baseDirs) {
      const response = await service.fetch(`/api/record/s1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ base_dir: baseDir }),
      });
      const body = await response.json();
      assert.equal(response.status, 400, `base_dir ${JSON.stringify(baseDir)}: ${JSON.stringify(body)}`);
      assert.match(body.error.message, /base_dir/);
    }
    assert.deepEqual(proxy.requests.slice(hostileBatch), [], "no hostile base_dir reached the store");

    // The proxy does see what the service asks the store: a missing object, and a good base_dir's index.
    const missing = await service.fetch(`/api/record/object/s1/2026/01/02/none.m4s`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
    assert.ok(proxy.requests.some((r) => r.key === `${ROOT}/s1/2026/01/02/none.m4s`), "a good key reaches the store");
    const good = await service.fetch(`/api/record/s1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ base_dir: "ok/dir" }),
    });
    assert.equal(good.status, 200, await good.text());
    assert.ok(proxy.requests.some((r) => r.key === `${ROOT}/ok/dir/index.json`), "a good base_dir is looked up");
  } finally {
    abort.abort();
    await publishing.catch(() => {});
  }
  const outside = (await bucketKeys(s3, "")).filter((key) => !key.startsWith(`${ROOT}/`));
  assert.deepEqual(outside, ["secret.txt"], "nothing was written outside the storage root");
});

Deno.test("kill -9 while recording to S3: the restart salvages the spool and the bucket gets the finished recording", async () => {
  await using s3 = await startS3Server({ bucket: BUCKET });
  const dir = await Deno.makeTempDir({ prefix: "liverec-s3crash-" });
  const spool = join(dir, "spool");
  const toml = s3Toml({ endpoint: s3.endpoint, spoolDir: spool, segmentDurationS: 4 });
  const first = await startService({ dir, toml });
  const sentBeforeKill = await publishAndKill(first, "crash-s3", clip, 195);
  assert.ok((await filesUnder(spool)).some((name) => name.endsWith(".part")), "an open segment was left in the spool");

  const second = await startService({ dir, toml });
  try {
    assert.match(second.logs(), /recovered a recording interrupted by a crash/);
    await spoolDrained(second, spool);
    const { folder, keys } = await recordingInBucket(s3, "crash-s3");
    await assertBucketMatchesManifest(s3, folder, keys);
    const copy = join(dir, "from-bucket");
    await Deno.mkdir(copy);
    for (const key of keys) await Deno.writeFile(join(copy, basename(key)), await bucketObject(s3, key));
    const mpd = join(copy, "manifest.mpd");
    assert.equal(await decodeErrors(mpd), "");
    const recorded = Number((await probe(mpd)).streams.find((s) => s.codec_type === "video")?.nb_read_frames);
    assert.ok(recorded <= sentBeforeKill && recorded >= sentBeforeKill - 45, `${recorded} of ${sentBeforeKill} frames`);
  } finally {
    await second.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an S3 endpoint that takes requests and never answers: each fails after request_timeout, nothing is lost", async () => {
  await using s3 = await startS3Server({ bucket: BUCKET });
  await using proxy = startS3Proxy(s3.endpoint);
  // Without a table header, the extra lines belong to [recorder.storage].
  await using run = await startS3Service({
    endpoint: proxy.endpoint,
    segmentDurationS: 1,
    extraToml: "request_timeout = 2\n",
  });
  const { service, spool } = run;
  const abort = new AbortController();
  const publishing = publishClip({ url: `${service.url}/whip/hung`, seconds: 8, clip, signal: abort.signal });
  publishing.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
  let videoFramesSent = -1;
  try {
    const verified = (r: ProxiedRequest) => r.method === "HEAD" && r.status === 200 && /\/seg_0001\.m4s$/.test(r.key);
    await waitFor(
      "the first video segment to be uploaded",
      () => Promise.resolve(proxy.requests.some(verified) || undefined),
    );
    proxy.hang();
    const timedOut = await waitFor("an upload to time out", async () => {
      const status = await storageStatus(service);
      return status.upload.failed_attempts > 0 && /timeout|timed out/i.test(status.upload.last_error ?? "")
        ? status
        : undefined;
    }, 20_000);
    assert.match(timedOut.upload.last_error ?? "", /hung\//, "the error names the object");
    proxy.forward();
    videoFramesSent = (await publishing).videoFrames;
    await recordingFinished(service, "hung");
    await spoolDrained(service, spool, 30_000);
  } finally {
    proxy.forward(); // a request still held would keep the service from stopping
    abort.abort();
    await publishing.catch(() => {});
  }
  const { folder, keys } = await recordingInBucket(s3, "hung");
  await assertBucketMatchesManifest(s3, folder, keys);
  const copy = join(run.service.dir, "from-bucket");
  await Deno.mkdir(copy);
  for (const key of keys) await Deno.writeFile(join(copy, basename(key)), await bucketObject(s3, key));
  const video = (await probe(join(copy, "manifest.mpd"))).streams.find((s) => s.codec_type === "video");
  assert.equal(Number(video?.nb_read_frames), videoFramesSent, "every video frame sent is in the bucket");
});

Deno.test("a store that never answers at start-up: the check fails after request_timeout and the service starts", async () => {
  await using s3 = await startS3Server({ bucket: BUCKET });
  await using proxy = startS3Proxy(s3.endpoint);
  proxy.hang();
  try {
    const startedAtMs = Date.now();
    await using run = await startS3Service({ endpoint: proxy.endpoint, extraToml: "request_timeout = 2\n" });
    assert.ok(Date.now() - startedAtMs < 15_000, `started after ${Date.now() - startedAtMs} ms`);
    assert.match(run.service.logs(), /storage backend check failed; recording continues locally .*timeout/);
    assert.equal((await run.service.fetch("/api/storage")).status, 200);
  } finally {
    proxy.forward();
  }
});

Deno.test("retain_days on S3: a finished recording past its age is deleted from the bucket, driven by the index", async () => {
  await using s3 = await startS3Server({ bucket: BUCKET });
  // 0.00005 days is 4.32 s; retention looks every second.
  const extraToml =
    `[[recorder.rules]]\nmatch = "aged-*"\nretain_days = 0.00005\n\n[recorder.retention]\ninterval = 1\n`;
  await using run = await startS3Service({ endpoint: s3.endpoint, extraToml });
  const { service, spool } = run;
  await publishClip({ url: `${service.url}/whip/aged-1`, seconds: 3, clip });
  await publishClip({ url: `${service.url}/whip/kept-1`, seconds: 3, clip });
  await recordingFinished(service, "kept-1");
  await spoolDrained(service, spool);
  assert.ok((await bucketKeys(s3, `${ROOT}/aged-1/`)).length > 0, "the aged recording was uploaded first");
  await waitFor("the aged recording to leave the bucket", async () => {
    return (await bucketKeys(s3, `${ROOT}/aged-1/`)).length === 0 ? true : undefined;
  }, 20_000);
  // The last object goes before the index row and the log line.
  const deleted = /recording deleted recordId=\S+ stream=aged-1 reason=retain_days/;
  await waitFor("the deletion to be logged", () => Promise.resolve(deleted.test(service.logs()) || undefined), 5_000);
  const listing = await (await service.fetch("/api/recordings?from=2000-01-01T00:00:00Z")).json();
  assert.deepEqual((listing.recordings as { stream: string }[]).map((row) => row.stream), ["kept-1"]);
  assert.ok((await bucketKeys(s3, `${ROOT}/kept-1/`)).length > 0, "a stream without retain_days is kept");
});
