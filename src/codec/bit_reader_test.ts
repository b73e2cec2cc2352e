/** RBSP unescaping and Exp-Golomb decoding against the tables of ITU-T H.264 §9.1. */

import assert from "node:assert/strict";
import { BitReader, unescapeRbsp } from "./bit_reader.ts";
import { bin } from "../shared/testing.ts";

Deno.test("unescapeRbsp removes each 0x03 that follows two zero bytes", () => {
  assert.deepEqual(unescapeRbsp(bin("67 00 00 03 00 00 03 01 00 00 03")), bin("67 00 00 00 00 01 00 00"));
  assert.deepEqual(unescapeRbsp(bin("00 03 00 00 04 00 00 03 03")), bin("00 03 00 00 04 00 00 03"));
});

Deno.test("BitReader decodes the Exp-Golomb table of H.264 §9.1", () => {
  // Codes for 0..8 then se(v) for +1, -1, +2: 1 010 011 00100 00101 00110 00111 0001000 0001001 | 010 011 00100
  const r = new BitReader(bin("a6 42 98 e2 04 a6 40"), "test");
  assert.deepEqual(Array.from({ length: 9 }, () => r.ue("ue")), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([r.se("se"), r.se("se"), r.se("se")], [1, -1, 2]);
});

Deno.test("BitReader reads 32-bit fields and the largest 32-bit Exp-Golomb code", () => {
  const r = new BitReader(bin("ff ff ff fe 00 00 00 01 ff ff ff fe"), "test");
  assert.deepEqual(r.bits(32, "u32"), 0xfffffffe);
  assert.deepEqual(r.ue("ue"), 2 ** 32 - 2);
});

Deno.test("BitReader rejects reading past the end with the field name", () => {
  const r = new BitReader(bin("00"), "SPS");
  assert.throws(() => r.ue("level"), {
    name: "BadRequestError",
    message: /invalid SPS: truncated while reading level \(1 bytes\)/,
  });
});

Deno.test("BitReader rejects an Exp-Golomb code with more than 31 leading zeros", () => {
  const r = new BitReader(new Uint8Array(8), "SPS");
  assert.throws(() => r.ue("width"), { name: "BadRequestError", message: /Exp-Golomb code too long/ });
});
