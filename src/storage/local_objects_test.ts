import assert from "node:assert/strict";
import { join } from "node:path";
import { BadRequestError } from "../shared/errors.ts";
import { LocalObjects } from "./local_objects.ts";

async function fresh(): Promise<LocalObjects> {
  const local = new LocalObjects(await Deno.makeTempDir({ prefix: "liverec-local-" }));
  await local.init();
  return local;
}

Deno.test("LocalObjects grows an open object in KEY.part and closes it by rename", async () => {
  const local = await fresh();
  await local.append("cam/seg_0001.m4s", new Uint8Array([1, 2]));
  await local.append("cam/seg_0001.m4s", new Uint8Array([3]));
  assert.deepEqual(await local.list(""), []);
  assert.deepEqual(await local.openKeys(""), ["cam/seg_0001.m4s"]);
  assert.deepEqual(await Deno.readFile(join(local.dir, "cam/seg_0001.m4s.part")), new Uint8Array([1, 2, 3]));
  await local.close("cam/seg_0001.m4s");
  assert.deepEqual(await local.list(""), ["cam/seg_0001.m4s"]);
  assert.deepEqual(await local.read("cam/seg_0001.m4s"), new Uint8Array([1, 2, 3]));
  assert.equal(local.totalBytes, 3);
});

Deno.test("LocalObjects closes or salvages an open object under another key, in another folder", async () => {
  const local = await fresh();
  await local.append("cam/r1.flv", new Uint8Array([1, 2, 3]));
  await local.close("cam/r1.flv", "cam/flv/cam_start_end.flv");
  assert.deepEqual(await local.list(""), ["cam/flv/cam_start_end.flv"]);
  assert.deepEqual(await local.openKeys(""), []);
  await local.append("cam/r2.flv", new Uint8Array([1, 2, 3]));
  await local.dispose();
  await local.salvage("cam/r2.flv", 2, "cam/r2_salvaged.flv");
  assert.deepEqual(await local.read("cam/r2_salvaged.flv"), new Uint8Array([1, 2]));
  assert.equal(local.totalBytes, 5);
});

Deno.test("LocalObjects reads a byte range of a closed object without the rest, cut short at its end", async () => {
  const local = await fresh();
  await local.replace("cam/video.mp4", Uint8Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual(await local.read("cam/video.mp4", { start: 2, endInclusive: 4 }), new Uint8Array([2, 3, 4]));
  assert.deepEqual(await local.read("cam/video.mp4", { start: 8, endInclusive: 20 }), new Uint8Array([8, 9]));
  assert.deepEqual(await local.read("cam/video.mp4", { start: 12, endInclusive: 20 }), new Uint8Array());
  assert.equal(await local.read("cam/missing.mp4", { start: 0, endInclusive: 1 }), undefined);
});

Deno.test("LocalObjects replaces small objects atomically and keeps its byte count", async () => {
  const local = await fresh();
  await local.replace("cam/manifest.mpd", new Uint8Array(10));
  await local.replace("cam/manifest.mpd", new Uint8Array(4));
  assert.equal((await local.read("cam/manifest.mpd"))?.length, 4);
  assert.deepEqual(await local.list("cam/"), ["cam/manifest.mpd"]);
  assert.equal(local.totalBytes, 4);
  await local.delete("cam/manifest.mpd");
  assert.equal(local.totalBytes, 0);
  assert.equal(await local.read("cam/manifest.mpd"), undefined);
});

Deno.test("LocalObjects replaces several objects in one go; when one cannot be written, none changes", async () => {
  const local = await fresh();
  const text = (value: string) => new TextEncoder().encode(value);
  await local.replaceAll([{ key: "cam/index.json", bytes: text("{}") }, { key: "cam/manifest.mpd", bytes: text("a") }]);
  await local.replaceAll([
    { key: "cam/index.json", bytes: text("{1}") },
    { key: "cam/manifest.mpd", bytes: text("bb") },
    { key: "cam/video.m3u8", bytes: text("ccc") },
  ]);
  assert.deepEqual(await local.list("cam/"), ["cam/index.json", "cam/manifest.mpd", "cam/video.m3u8"]);
  assert.equal(new TextDecoder().decode(await local.read("cam/manifest.mpd")), "bb");
  assert.equal(local.totalBytes, 3 + 2 + 3);

  // A file where a folder should be: that write fails, the other object is not renamed and no temporary file stays.
  await Deno.writeTextFile(join(local.dir, "cam/sub"), "");
  await assert.rejects(
    local.replaceAll([{ key: "cam/index.json", bytes: text("{2}") }, { key: "cam/sub/index.m3u8", bytes: text("d") }]),
    /cannot write .*cam\/sub\/index\.m3u8\.tmp-/,
  );
  assert.equal(new TextDecoder().decode(await local.read("cam/index.json")), "{1}");
  const names = [];
  for await (const entry of Deno.readDir(join(local.dir, "cam"))) names.push(entry.name);
  assert.deepEqual(names.sort(), ["index.json", "manifest.mpd", "sub", "video.m3u8"]);
  assert.equal(local.totalBytes, 3 + 2 + 3);
});

Deno.test("LocalObjects salvages an object a crash left open: cut back and closed, or removed", async () => {
  const local = await fresh();
  await local.append("a/seg_0001.m4s", new Uint8Array(100));
  await local.append("a/seg_0002.m4s", new Uint8Array(50));
  await local.dispose();
  const again = new LocalObjects(local.dir);
  await again.init();
  assert.equal(again.totalBytes, 150);
  assert.deepEqual(await again.openKeys("a/"), ["a/seg_0001.m4s", "a/seg_0002.m4s"]);
  await again.salvage("a/seg_0001.m4s", 60);
  await again.salvage("a/seg_0002.m4s", 0);
  assert.deepEqual(await again.list(""), ["a/seg_0001.m4s"]);
  assert.equal((await again.read("a/seg_0001.m4s"))?.length, 60);
  assert.equal(again.totalBytes, 60);
});

Deno.test("LocalObjects refuses keys that would leave its directory and ignores hidden state folders", async () => {
  const local = await fresh();
  for (const key of ["../x", "/abs", "a/../../x", "a\\b"]) {
    await assert.rejects(local.append(key, new Uint8Array(1)), BadRequestError);
    await assert.rejects(local.replace(key, new Uint8Array(1)), BadRequestError);
  }
  await Deno.mkdir(join(local.dir, ".liverec"));
  await Deno.writeTextFile(join(local.dir, ".liverec", "state.json"), "{}");
  assert.deepEqual(await local.list(""), []);
});

Deno.test("LocalObjects keeps its count and never deletes a newer version when replace and delete race", async () => {
  const local = await fresh();
  const v1 = new Uint8Array(100).fill(1);
  const v2 = new Uint8Array(250).fill(2);
  for (let round = 0; round < 100; round++) {
    await local.replace("cam/manifest.mpd", v1);
    const racing = round % 2 === 0
      ? [local.deleteIfSame("cam/manifest.mpd", v1), local.replace("cam/manifest.mpd", v2)]
      : [local.replace("cam/manifest.mpd", v2), local.deleteIfSame("cam/manifest.mpd", v1)];
    await Promise.all(racing);
    assert.deepEqual(await local.read("cam/manifest.mpd"), v2, `round ${round}: the newer version survives`);
    assert.equal(local.totalBytes, v2.length, `round ${round}: the count is right`);
  }
});
