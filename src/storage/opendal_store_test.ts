import assert from "node:assert/strict";
import { join } from "node:path";
import { BadRequestError, NotFoundError, StorageError } from "../shared/errors.ts";
import { MemoryStore } from "./memory_store.ts";
import { OpenDalStore } from "./opendal_store.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "liverec-store-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("OpenDalStore on fs writes, reads ranges, stats, lists and deletes below its root", async () => {
  await withTempDir(async (dir) => {
    const store = new OpenDalStore({ scheme: "fs", options: { root: join(dir, "records") } });
    const data = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    await store.write("cam/2026/11/21/seg_0001.m4s", data);
    await store.write("cam/2026/11/21/init.m4s", new Uint8Array([1, 2, 3]));
    assert.deepEqual(await Deno.readFile(join(dir, "records/cam/2026/11/21/seg_0001.m4s")), data);
    assert.deepEqual(
      await store.read("cam/2026/11/21/seg_0001.m4s", { start: 998, endInclusive: 999 }),
      data.slice(998),
    );
    assert.deepEqual(await store.stat("cam/2026/11/21/init.m4s"), { sizeBytes: 3 });
    assert.equal(await store.stat("cam/2026"), undefined);
    assert.deepEqual(await store.list("cam/"), ["cam/2026/11/21/init.m4s", "cam/2026/11/21/seg_0001.m4s"]);
    assert.deepEqual(await store.list("nothing/"), []);
    await store.delete("cam/2026/11/21/init.m4s");
    await assert.rejects(store.read("cam/2026/11/21/init.m4s"), NotFoundError);
    await assert.rejects(store.write("../outside.m4s", data), BadRequestError);
  });
});

Deno.test("OpenDalStore on fs passes check() (a missing root is created) and cannot presign", async () => {
  await withTempDir(async (dir) => {
    const store = new OpenDalStore({ scheme: "fs", options: { root: join(dir, "not/yet/there") } });
    assert.equal(await store.check(), undefined);
    assert.equal(await store.presignRead("cam/seg_0001.m4s", 60), undefined);
    await assert.rejects(store.presignRead("../seg_0001.m4s", 60), BadRequestError);
  });
});

Deno.test("OpenDalStore that OpenDAL cannot build still constructs, and says why on check() and every call", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "file"), "x");
    const store = new OpenDalStore({ scheme: "fs", options: { root: join(dir, "file/records") } });
    const problem = await store.check();
    assert.match(problem ?? "", /^fs root ".*file\/records" cannot be used: .*Not a directory/);
    await assert.rejects(store.write("cam/a.m4s", new Uint8Array([1])), StorageError);
    await assert.rejects(store.list("cam/"), StorageError);
    await assert.rejects(store.presignRead("cam/a.m4s", 60), StorageError);
  });
});

Deno.test("OpenDalStore refuses a part size below the backend's multipart minimum (S3: 5 MiB)", () => {
  const target = {
    scheme: "s3",
    options: { bucket: "b", region: "us-east-1", endpoint: "http://127.0.0.1:1", disable_config_load: "true" },
  };
  assert.throws(() => new OpenDalStore(target, { partSizeBytes: 1024 * 1024 }), /partSizeBytes must be at least/);
  assert.doesNotThrow(() => new OpenDalStore(target, { partSizeBytes: 5 * 1024 * 1024 }));
});

Deno.test("OpenDalStore.presignRead refuses lifetimes S3 would reject", async () => {
  const store = new OpenDalStore({
    scheme: "s3",
    options: { bucket: "b", region: "us-east-1", endpoint: "http://127.0.0.1:1", disable_config_load: "true" },
  });
  await assert.rejects(store.presignRead("a.m4s", 0), /presign lifetime/);
  await assert.rejects(store.presignRead("a.m4s", 8 * 24 * 3600), /presign lifetime/);
});

Deno.test("MemoryStore is always healthy and never presigns", async () => {
  const store = new MemoryStore();
  assert.equal(await store.check(), undefined);
  assert.equal(await store.presignRead("cam/seg_0001.m4s", 60), undefined);
  await assert.rejects(store.presignRead("../x", 60), BadRequestError);
});

Deno.test("MemoryStore rejects, as the real stores do, rather than throwing for a bad key or a missing object", async () => {
  const store = new MemoryStore();
  await assert.rejects(store.write("../x", new Uint8Array(1)), BadRequestError);
  await assert.rejects(store.read("../x"), BadRequestError);
  await assert.rejects(store.stat("../x"), BadRequestError);
  await assert.rejects(store.list("../"), BadRequestError);
  await assert.rejects(store.delete("../x"), BadRequestError);
  await assert.rejects(store.read("cam/missing.m4s"), NotFoundError);
});
