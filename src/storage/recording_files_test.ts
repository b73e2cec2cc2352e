import assert from "node:assert/strict";
import { StorageError } from "../shared/errors.ts";
import { LocalObjects } from "./local_objects.ts";
import { MemoryStore } from "./memory_store.ts";
import { RecordingFiles } from "./recording_files.ts";

async function spoolFiles(spoolLimitBytes: number) {
  const local = new LocalObjects(await Deno.makeTempDir({ prefix: "liverec-files-" }));
  await local.init();
  const store = new MemoryStore();
  return { files: new RecordingFiles({ local, store, spoolLimitBytes }), local, store };
}

Deno.test("RecordingFiles refuses fragments past the spool limit with an error that says so", async () => {
  const { files } = await spoolFiles(1000);
  await files.appendFragment("cam/seg_0001.m4s", new Uint8Array(600));
  await assert.rejects(
    files.appendFragment("cam/seg_0001.m4s", new Uint8Array(600)),
    (error: Error) => error instanceof StorageError && /spool .* is full \(600 of 1000 bytes\)/.test(error.message),
  );
  await files.close("cam/seg_0001.m4s");
  assert.equal((await files.read("cam/seg_0001.m4s"))?.length, 600, "what fit is kept");
});

Deno.test("RecordingFiles reads the newest version: the spool's, then the store's", async () => {
  const { files, store } = await spoolFiles(1 << 20);
  await store.write("cam/manifest.mpd", new TextEncoder().encode("uploaded"));
  assert.equal(new TextDecoder().decode(await files.read("cam/manifest.mpd")), "uploaded");
  await files.replace("cam/manifest.mpd", new TextEncoder().encode("newer, in the spool"));
  assert.equal(new TextDecoder().decode(await files.read("cam/manifest.mpd")), "newer, in the spool");
  assert.deepEqual(
    await files.read("cam/manifest.mpd", { start: 0, endInclusive: 4 }),
    new TextEncoder().encode("newer"),
  );
  assert.equal(await files.read("cam/missing.m4s"), undefined);
  await store.write("cam/seg_0001.m4s", new Uint8Array(3));
  assert.deepEqual(await files.list("cam/"), ["cam/manifest.mpd", "cam/seg_0001.m4s"]);
});

Deno.test("RecordingFiles remembers recordings in progress until they are cleared", async () => {
  const { files } = await spoolFiles(1 << 20);
  const active = {
    recordId: "r1",
    streamId: "cam",
    recordDir: "cam/2026/11/21",
    startedAt: "2026-11-21T10:00:00.000Z",
  };
  await files.markActive(active);
  assert.deepEqual(await files.activeRecordings(), [active]);
  assert.deepEqual(await files.list(""), [], "markers are not objects");
  await files.clearActive("r1");
  assert.deepEqual(await files.activeRecordings(), []);
});

Deno.test("RecordingFiles reads an uploaded object with one request to the store", async () => {
  const { files, store } = await spoolFiles(1 << 20);
  await store.write("cam/seg_0001.m4s", new Uint8Array([1, 2, 3]));
  const calls: string[] = [];
  const stat = store.stat.bind(store);
  const read = store.read.bind(store);
  store.stat = (key) => (calls.push(`stat ${key}`), stat(key));
  store.read = (key, range) => (calls.push(`read ${key}`), read(key, range));
  assert.deepEqual(await files.read("cam/seg_0001.m4s", { start: 1, endInclusive: 2 }), new Uint8Array([2, 3]));
  assert.equal(await files.read("cam/missing.m4s"), undefined);
  assert.deepEqual(calls, ["read cam/seg_0001.m4s", "read cam/missing.m4s"]);
});
