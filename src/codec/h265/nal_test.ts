/** NAL unit header fields, IRAP detection, sprop values. */

import assert from "node:assert/strict";
import { isIrap, isVcl, layerId, nalType, parseSpropNalUnits, startsPicture, temporalIdPlus1 } from "./nal.ts";
import { bin } from "../../shared/testing.ts";

Deno.test("nalType, layerId and temporalIdPlus1 read the three fields of the 2-byte header", () => {
  // F=0, type=33 (SPS), LayerId=0, TID=1: 0100 0010 0000 0001
  const sps = bin("42 01");
  assert.deepEqual([nalType(sps), layerId(sps), temporalIdPlus1(sps)], [33, 0, 1]);
  // F=0, type=1, LayerId=0b100011 (high bit in byte 0), TID=3: 0000 0011 0001 1011
  const layered = bin("03 1b");
  assert.deepEqual([nalType(layered), layerId(layered), temporalIdPlus1(layered)], [1, 35, 3]);
  // The forbidden bit does not leak into the type.
  assert.equal(nalType(bin("ff ff")), 63);
  assert.equal(nalType(new Uint8Array()), 0);
});

Deno.test("isIrap accepts BLA, IDR and CRA (16..21) and nothing else", () => {
  const header = (type: number) => new Uint8Array([type << 1, 1]);
  const irap = Array.from({ length: 64 }, (_, type) => type).filter((type) => isIrap(header(type)));
  assert.deepEqual(irap, [16, 17, 18, 19, 20, 21]);
  assert.equal(isVcl(header(31)), true);
  assert.equal(isVcl(header(32)), false);
});

Deno.test("startsPicture reads first_slice_segment_in_pic_flag after the header", () => {
  assert.equal(startsPicture(bin("2601 80")), true);
  assert.equal(startsPicture(bin("2601 7f")), false);
  assert.equal(startsPicture(bin("2601")), false);
});

Deno.test("parseSpropNalUnits decodes comma-separated base64 and names bad entries", () => {
  assert.deepEqual(parseSpropNalUnits("sprop-pps", "RAHBcrRiQA==, RAHA"), [bin("4401c172b46240"), bin("4401c0")]);
  assert.throws(() => parseSpropNalUnits("sprop-sps", "QgE,***"), /invalid sprop-sps: "\*\*\*" is not base64/);
  assert.throws(() => parseSpropNalUnits("sprop-vps", "QA=="), /too short/);
});
