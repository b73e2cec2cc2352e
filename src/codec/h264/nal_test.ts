/** NAL unit types, sprop-parameter-sets and keyframe detection. */

import assert from "node:assert/strict";
import { isKeyframe, NalType, nalType, parseSpropParameterSets } from "./nal.ts";
import { bin } from "../../shared/testing.ts";

Deno.test("nalType reads the low 5 bits and ignores nal_ref_idc and forbidden bit", () => {
  assert.deepEqual(nalType(bin("67")), NalType.Sps);
  assert.deepEqual(nalType(bin("68")), NalType.Pps);
  assert.deepEqual(nalType(bin("65")), NalType.Idr);
  assert.deepEqual(nalType(bin("41")), NalType.Slice);
  assert.deepEqual(nalType(bin("06")), NalType.Sei);
  assert.deepEqual(nalType(bin("09")), NalType.Aud);
  assert.deepEqual(nalType(bin("0c")), NalType.Filler);
  assert.deepEqual(nalType(bin("78")), NalType.StapA);
  assert.deepEqual(nalType(bin("7c")), NalType.FuA);
  assert.deepEqual(nalType(bin("e5")), NalType.Idr);
  assert.deepEqual(nalType(new Uint8Array()), 0);
});

Deno.test("isKeyframe is true only when an IDR slice is present", () => {
  assert.deepEqual(isKeyframe([bin("67 42"), bin("68 ce"), bin("65 88")]), true);
  assert.deepEqual(isKeyframe([bin("09 f0"), bin("41 9a")]), false);
  assert.deepEqual(isKeyframe([bin("67 42"), bin("68 ce")]), false);
  assert.deepEqual(isKeyframe([]), false);
});

Deno.test("parseSpropParameterSets decodes comma-separated base64 SPS and PPS", () => {
  const nalUnits = parseSpropParameterSets("Z0LAHtkAoC/5cBEAAAMAAQAAAwA8DxYuSA==,aMuDyyA=");
  assert.deepEqual(nalUnits, [bin("6742c01ed900a02ff970110000030001000003003c0f162e48"), bin("68cb83cb20")]);
});

Deno.test("parseSpropParameterSets tolerates spaces and missing padding", () => {
  assert.deepEqual(parseSpropParameterSets(" aMuDyyA , aMuDyyA="), [bin("68cb83cb20"), bin("68cb83cb20")]);
});

Deno.test("parseSpropParameterSets rejects invalid base64 and empty entries", () => {
  assert.throws(() => parseSpropParameterSets("Z0LA*,aMuDyyA="), {
    name: "BadRequestError",
    message: /"Z0LA\*" is not base64/,
  });
  assert.throws(() => parseSpropParameterSets("aMuDyyA=,"), { name: "BadRequestError", message: /empty entry/ });
  assert.throws(() => parseSpropParameterSets(""), { name: "BadRequestError", message: /empty entry/ });
});
