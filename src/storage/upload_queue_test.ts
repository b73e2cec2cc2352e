import { waitFor } from "../../tests/helpers/service.ts";
import assert from "node:assert/strict";
import { StorageError } from "../shared/errors.ts";
import { silentLogger } from "../shared/log.ts";
import { LocalObjects } from "./local_objects.ts";
import { MemoryStore } from "./memory_store.ts";
import { UploadQueue } from "./upload_queue.ts";

async function setup() {
  const local = new LocalObjects(await Deno.makeTempDir({ prefix: "liverec-spool-" }));
  await local.init();
  const store = new MemoryStore();
  const writes: string[] = [];
  let down = false;
  const write = store.write.bind(store);
  store.write = (key, data) => {
    if (down) return Promise.reject(new StorageError("connection refused"));
    writes.push(key);
    return write(key, data);
  };
  const queue = new UploadQueue({ local, store, log: silentLogger, retryFirstMs: 10, retryMaxMs: 40 });
  return { local, store, writes, queue, setDown: (value: boolean) => (down = value) };
}

Deno.test("UploadQueue uploads segments before the index, manifest and playlists that list them, then empties the spool", async () => {
  const { local, writes, queue } = await setup();
  await local.replace("cam/index.m3u8", new TextEncoder().encode("multivariant"));
  await local.replace("cam/video.m3u8", new TextEncoder().encode("media playlist"));
  await local.replace("cam/manifest.mpd", new TextEncoder().encode("v1"));
  await local.replace("cam/index.json", new TextEncoder().encode("{}"));
  await local.append("cam/seg_0001.m4s", new Uint8Array(5));
  await local.close("cam/seg_0001.m4s");
  await local.append("cam/seg_0002.m4s", new Uint8Array(6));
  await local.close("cam/seg_0002.m4s");
  queue.start();
  assert.ok(await queue.drained(5_000));
  await queue.stop();
  assert.deepEqual(writes, [
    "cam/seg_0001.m4s",
    "cam/seg_0002.m4s",
    "cam/index.json",
    "cam/manifest.mpd",
    "cam/video.m3u8",
    "cam/index.m3u8",
  ]);
  assert.deepEqual(await local.list(""), []);
  assert.equal(queue.status.uploadedObjects, 6);
});

Deno.test("UploadQueue rides out a store outage: retries, loses nothing, uploads nothing twice", async () => {
  const { local, store, writes, queue, setDown } = await setup();
  setDown(true);
  queue.start();
  for (let n = 1; n <= 5; n++) {
    const key = `cam/seg_000${n}.m4s`;
    await local.append(key, new Uint8Array(n));
    await local.close(key);
    await local.replace("cam/manifest.mpd", new TextEncoder().encode(`v${n}`));
    queue.notify();
  }
  await waitFor("two failed attempts", () => Promise.resolve(queue.status.failedAttempts >= 2 || undefined));
  assert.match(queue.status.lastError ?? "", /connection refused/);
  const first = (await local.stat("cam/seg_0001.m4s"))!.mtimeMs;
  assert.equal(queue.status.oldestPendingAtMs, first, "the oldest object waiting: the first segment");
  assert.equal(store.objects.size, 0);
  setDown(false);
  assert.ok(await queue.drained(5_000));
  await queue.stop();
  assert.deepEqual(writes, [1, 2, 3, 4, 5].map((n) => `cam/seg_000${n}.m4s`).concat(["cam/manifest.mpd"]));
  assert.equal(queue.status.oldestPendingAtMs, undefined, "nothing waits");
  assert.equal(new TextDecoder().decode(store.objects.get("cam/manifest.mpd")), "v5");
});

Deno.test("UploadQueue never replaces a newer manifest with an older one", async () => {
  const { local, store, queue } = await setup();
  await local.replace("cam/manifest.mpd", new TextEncoder().encode("old"));
  const write = store.write.bind(store);
  let replaced = false;
  store.write = async (key, data) => {
    await write(key, data);
    // A newer manifest lands in the spool while the older one is being uploaded.
    if (!replaced) {
      replaced = true;
      await local.replace("cam/manifest.mpd", new TextEncoder().encode("new!"));
      queue.notify();
    }
  };
  queue.start();
  assert.ok(await queue.drained(5_000));
  await queue.stop();
  assert.equal(new TextDecoder().decode(store.objects.get("cam/manifest.mpd")), "new!");
});

Deno.test("UploadQueue does not send again what a crash interrupted after a verified upload", async () => {
  const { local, store, writes, queue } = await setup();
  await local.append("cam/seg_0001.m4s", new Uint8Array(7));
  await local.close("cam/seg_0001.m4s");
  store.objects.set("cam/seg_0001.m4s", new Uint8Array(7));
  queue.start();
  assert.ok(await queue.drained(5_000));
  await queue.stop();
  assert.deepEqual(writes, []);
  assert.deepEqual(await local.list(""), []);
});

Deno.test("UploadQueue is not thrown off by objects being replaced while it lists the spool", async () => {
  const { local, store, queue } = await setup();
  let writing = true;
  const writer = (async () => {
    for (let n = 0; writing; n++) await local.replace("cam/manifest.mpd", new TextEncoder().encode(`v${n}`));
  })();
  queue.start();
  for (let n = 1; n <= 20; n++) {
    const key = `cam/seg_${String(n).padStart(4, "0")}.m4s`;
    await local.append(key, new Uint8Array(100));
    await local.close(key);
    queue.notify();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  writing = false;
  await writer;
  assert.ok(await queue.drained(5_000));
  await queue.stop();
  assert.equal(queue.status.failedAttempts, 0, `last error: ${queue.status.lastError}`);
  assert.equal([...store.objects.keys()].filter((k) => k.includes("seg_")).length, 20);
});

Deno.test("UploadQueue does not resend an object whose write succeeded but whose check failed", async () => {
  const { local, store, writes, queue } = await setup();
  const stat = store.stat.bind(store);
  let failChecks = 0;
  store.stat = (key) => failChecks-- > 0 ? Promise.reject(new StorageError("timeout")) : stat(key);
  queue.start();
  assert.ok(await queue.drained(5_000), "a first, empty pass");
  failChecks = 1; // the check after the write fails once
  await local.append("cam/seg_0001.m4s", new Uint8Array(9));
  await local.close("cam/seg_0001.m4s");
  queue.notify();
  assert.ok(await queue.drained(5_000));
  await queue.stop();
  assert.equal(queue.status.failedAttempts, 1);
  assert.deepEqual(writes, ["cam/seg_0001.m4s"], "written once");
});
