import assert from "node:assert/strict";
import { loadClip } from "../../scripts/clip.ts";
import { clipPackets } from "../../tests/helpers/clip_packets.ts";
import type { RecordingIndex } from "../manifest/mod.ts";
import { MemoryStore } from "../storage/mod.ts";
import { StorageError } from "../shared/errors.ts";
import { silentLogger } from "../shared/log.ts";
import { RecordingSession } from "./session.ts";
import type { LiveSource, SourceListener, SourceTrack } from "./source.ts";

const clip = await loadClip();
const TRACKS: SourceTrack[] = [
  { kind: "video", codec: "H264", clockRate: 90_000, payloadType: 96, parameterSets: [] },
  { kind: "audio", codec: "opus", clockRate: 48_000, payloadType: 111, channels: 2 },
];

/** A source that replays the clip's packets on demand and counts keyframe requests. */
class ReplaySource implements LiveSource {
  readonly streamId = "cam";
  readonly tracks = TRACKS;
  readonly publishedAtMs = 0;
  keyframeRequests = 0;
  #listener: SourceListener | undefined;
  addListener(listener: SourceListener) {
    this.#listener = listener;
    return () => (this.#listener = undefined);
  }
  requestKeyframe() {
    this.keyframeRequests++;
  }
  replay(seconds: number, clock: { ms: number }) {
    for (const p of clipPackets(clip, { seconds, baseMs: clock.ms })) {
      clock.ms = p.arrivalMs;
      this.#listener?.rtp(p.kind, p.packet, p.arrivalMs);
    }
  }
}

function session(store: MemoryStore, source: ReplaySource, clock: { ms: number }, recordId: string, retries = 0) {
  return new RecordingSession({
    source,
    store,
    clock: { nowMs: () => clock.ms },
    log: silentLogger,
    recordId,
    recordDir: "cam/2026/11/21",
    segmentDurationMs: 2000,
    retryDelaysMs: Array(retries).fill(0),
  });
}

function index(store: MemoryStore): RecordingIndex {
  return JSON.parse(new TextDecoder().decode(store.objects.get("cam/2026/11/21/index.json")!));
}

Deno.test("RecordingSession writes inits, segments, the index and a manifest that turns static on stop", async () => {
  const store = new MemoryStore();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(store, source, clock, "r1");
  await recording.start();
  source.replay(6, clock);
  await new Promise((resolve) => setTimeout(resolve, 0));
  const live = new TextDecoder().decode(store.objects.get("cam/2026/11/21/manifest.mpd")!);
  assert.match(live, /type="dynamic"/);
  await recording.stop();
  const keys = [...store.objects.keys()].map((k) => k.slice("cam/2026/11/21/".length)).sort();
  assert.deepEqual(keys, [
    "audio_init.m4s",
    "audio_seg_0001.m4s",
    "audio_seg_0002.m4s",
    "audio_seg_0003.m4s",
    "index.json",
    "init.m4s",
    "manifest.mpd",
    "seg_0001.m4s",
    "seg_0002.m4s",
    "seg_0003.m4s",
  ]);
  const mpd = new TextDecoder().decode(store.objects.get("cam/2026/11/21/manifest.mpd")!);
  assert.match(mpd, /type="static"/);
  assert.match(mpd, /mediaPresentationDuration="PT6S"/);
  const status = recording.status();
  assert.equal(status.state, "finished");
  assert.equal(status.segments, 6);
  assert.equal(status.stats.videoFrames, 180);
  assert.ok(source.keyframeRequests >= 1, "asked for a keyframe at start");
});

Deno.test("RecordingSession continues numbering in a folder that already has a recording", async () => {
  const store = new MemoryStore();
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const first = session(store, source, clock, "r1");
  await first.start();
  source.replay(4, clock);
  await first.stop();
  const firstSegment = store.objects.get("cam/2026/11/21/seg_0001.m4s");
  const second = session(store, source, clock, "r2");
  await second.start();
  source.replay(4, clock);
  await second.stop();
  const { periods } = index(store);
  assert.deepEqual(periods.map((p) => [p.recordId, p.video?.startNumber, p.video?.init]), [
    ["r1", 1, "init.m4s"],
    ["r2", 3, "init_2.m4s"],
  ]);
  assert.equal(store.objects.get("cam/2026/11/21/seg_0001.m4s"), firstSegment);
});

Deno.test("RecordingSession sets an unreadable index aside and never reuses the folder's segment numbers", async () => {
  const store = new MemoryStore();
  await store.write("cam/2026/11/21/index.json", new TextEncoder().encode("{ torn"));
  await store.write("cam/2026/11/21/init.m4s", new Uint8Array([1]));
  await store.write("cam/2026/11/21/seg_0007.m4s", new Uint8Array([7]));
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(store, source, clock, "r3");
  await recording.start();
  source.replay(4, clock);
  await recording.stop();
  assert.deepEqual(store.objects.get("cam/2026/11/21/seg_0007.m4s"), new Uint8Array([7]));
  assert.deepEqual(store.objects.get("cam/2026/11/21/init.m4s"), new Uint8Array([1]));
  const aside = [...store.objects.keys()].find((k) => k.includes("index.unreadable-"));
  assert.ok(aside, "the unreadable index is kept");
  const period = index(store).periods.find((p) => p.recordId === "r3")!;
  assert.ok(period.video!.startNumber >= 8, `starts at ${period.video!.startNumber}`);
  assert.equal(period.video!.init, "init_2.m4s");
});

Deno.test("RecordingSession retries a failed write, then keeps recording and reports what is missing", async () => {
  const store = new MemoryStore();
  let attempts = 0;
  const write = store.write.bind(store);
  store.write = (key, data) => {
    if (!key.endsWith("/seg_0001.m4s")) return write(key, data);
    attempts++;
    return Promise.reject(new StorageError("disk on fire"));
  };
  const source = new ReplaySource();
  const clock = { ms: Date.UTC(2026, 10, 21, 10) };
  const recording = session(store, source, clock, "r4", 2);
  await recording.start();
  source.replay(6, clock);
  await recording.stop();
  const status = recording.status();
  assert.equal(attempts, 3, "one write and two retries");
  assert.equal(status.storageErrors, 1);
  assert.match(status.lastStorageError ?? "", /disk on fire/);
  assert.ok(!store.objects.has("cam/2026/11/21/seg_0001.m4s"));
  assert.ok(store.objects.has("cam/2026/11/21/seg_0002.m4s"));
  const mpd = new TextDecoder().decode(store.objects.get("cam/2026/11/21/manifest.mpd")!);
  assert.match(mpd, /media="seg_\$Number%04d\$\.m4s" startNumber="1"/, "later segments keep their numbers");
});
