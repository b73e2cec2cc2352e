/** Superframe indexes built by hand from VP9 Annex B: splitting, building, and indexes that cannot be right. */

import assert from "node:assert/strict";
import { buildVp9Superframe, splitVp9Superframe } from "./superframe.ts";
import { bin, toHex } from "../../shared/testing.ts";

const a = bin("82 49 83 42 00");
const b = bin("86 00 40 92");

Deno.test("buildVp9Superframe appends an index of 1-byte sizes between two marker bytes", () => {
  // marker 110 00 001: 1 byte per size, 2 frames.
  assert.deepEqual(toHex(buildVp9Superframe([a, b])), toHex(a) + toHex(b) + "c1" + "05" + "04" + "c1");
});

Deno.test("buildVp9Superframe uses the fewest bytes per size that fit the largest frame", () => {
  for (const [size, sizeBytes] of [[255, 1], [256, 2], [65_535, 2], [65_536, 3], [16_777_216, 4]] as const) {
    const superframe = buildVp9Superframe([new Uint8Array(size), a]);
    const marker = superframe[superframe.length - 1]!;
    assert.deepEqual(((marker >> 3) & 3) + 1, sizeBytes, `${size} bytes`);
    assert.deepEqual(splitVp9Superframe(superframe).map((f) => f.length), [size, a.length]);
  }
});

Deno.test("splitVp9Superframe reads little-endian sizes and returns views of the frames", () => {
  // marker 110 01 010: 2 bytes per size, 3 frames.
  const chunk = bin(`${toHex(a)} ${toHex(b)} 77 ca 0500 0400 0100 ca`);
  assert.deepEqual(splitVp9Superframe(chunk).map(toHex), [toHex(a), toHex(b), "77"]);
});

Deno.test("splitVp9Superframe treats a chunk without a matching index as one frame", () => {
  for (const hex of ["82 00 11", "82 00 c1", "c1 05 04 c2", "c1"]) {
    assert.deepEqual(splitVp9Superframe(bin(hex)).map(toHex), [hex.replaceAll(" ", "")], hex);
  }
});

Deno.test("splitVp9Superframe ignores bytes left between the last frame and the index, as libvpx does", () => {
  assert.deepEqual(splitVp9Superframe(bin(`${toHex(a)} ee c0 05 c0`)).map(toHex), [toHex(a)]);
});

Deno.test("splitVp9Superframe rejects an index whose sizes exceed the data or name an empty frame", () => {
  const impossible: [string, RegExp][] = [
    [`${toHex(a)} c1 05 09 c1`, /frame 1 of 2 has 9 bytes, 0 are left/],
    ["c0 05 c0", /frame 0 of 1 has 5 bytes, 0 are left/], // an index and no frame data at all
    [`${toHex(a)} c1 00 05 c1`, /frame 0 of 2 has 0 bytes/],
    [`${toHex(a)} d8 ffffffff d8`, /frame 0 of 1 has 4294967295 bytes/],
  ];
  for (const [hex, message] of impossible) {
    assert.throws(() => splitVp9Superframe(bin(hex)), { name: "BadRequestError", message }, hex);
  }
  assert.throws(() => splitVp9Superframe(new Uint8Array()), { name: "BadRequestError", message: /empty/ });
});

Deno.test("buildVp9Superframe refuses no frames, more than 8, and empty ones", () => {
  assert.throws(() => buildVp9Superframe([]), { name: "BadRequestError", message: /1 to 8 frames, got 0/ });
  assert.throws(() => buildVp9Superframe(new Array(9).fill(a)), { message: /1 to 8 frames, got 9/ });
  assert.throws(() => buildVp9Superframe([a, new Uint8Array()]), { message: /an empty frame/ });
});

Deno.test("splitVp9Superframe reverses buildVp9Superframe for 1 to 8 frames", () => {
  for (let count = 1; count <= 8; count++) {
    const frames = Array.from({ length: count }, (_, i) => Uint8Array.of(0x82, i, i + 1));
    assert.deepEqual(splitVp9Superframe(buildVp9Superframe(frames)), frames);
  }
});
