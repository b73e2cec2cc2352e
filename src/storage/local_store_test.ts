import assert from "node:assert/strict";
import { BadRequestError, NotFoundError } from "../shared/errors.ts";
import { LocalObjects } from "./local_objects.ts";
import { LocalStore } from "./local_store.ts";

async function fresh(): Promise<{ local: LocalObjects; store: LocalStore }> {
  const local = new LocalObjects(await Deno.makeTempDir({ prefix: "liverec-local-store-" }));
  await local.init(false);
  return { local, store: new LocalStore(local) };
}

Deno.test("LocalStore writes, reads ranges, stats, lists closed objects only and deletes in its folder", async () => {
  const { local, store } = await fresh();
  assert.equal(store.description, `fs:${local.dir}`);
  await store.write("cam/2026/index.json", new TextEncoder().encode("{}"));
  await local.append("cam/2026/seg_0002.m4s", new Uint8Array([9]));
  await store.write("cam/2026/seg_0001.m4s", new Uint8Array([1, 2, 3, 4]));
  assert.deepEqual(await store.read("cam/2026/seg_0001.m4s", { start: 1, endInclusive: 2 }), new Uint8Array([2, 3]));
  assert.deepEqual(await store.stat("cam/2026/seg_0001.m4s"), { sizeBytes: 4 });
  assert.deepEqual(await store.list("cam/"), ["cam/2026/index.json", "cam/2026/seg_0001.m4s"]);
  await store.delete("cam/2026/seg_0001.m4s");
  await store.delete("cam/2026/seg_0001.m4s");
  assert.equal(await store.stat("cam/2026/seg_0001.m4s"), undefined);
  await assert.rejects(store.read("cam/2026/seg_0001.m4s"), NotFoundError);
  await assert.rejects(store.read("../etc/passwd"), BadRequestError);
  assert.equal(await store.presignRead("cam/2026/index.json", 60), undefined);
});

Deno.test("LocalStore.check() says when its folder is gone", async () => {
  const { local, store } = await fresh();
  assert.equal(await store.check(), undefined);
  await Deno.remove(local.dir);
  assert.match((await store.check()) ?? "", /cannot be written: ENOENT/);
});
