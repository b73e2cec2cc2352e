/** NAL unit types, Annex B splitting, sprop-parameter-sets and keyframe detection. */

import assert from "node:assert/strict";
import { isKeyframe, NalType, nalType, parseSpropParameterSets, splitAnnexB } from "./nal.ts";
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

Deno.test("splitAnnexB handles 3- and 4-byte start codes and strips trailing zeros", () => {
  const stream = bin("00 00 00 01 67 42 c0 1f 00 00 01 68 ce 38 80 00 00 00 01 65 88 84 00 00 00 00 01 41 9a 00");
  assert.deepEqual(splitAnnexB(stream), [
    bin("67 42 c0 1f"),
    bin("68 ce 38 80"),
    bin("65 88 84"),
    bin("41 9a"),
  ]);
});

Deno.test("splitAnnexB ignores leading garbage and empty NAL units", () => {
  assert.deepEqual(splitAnnexB(bin("ff ee 00 00 01 00 00 01 09 f0 00 00 01")), [bin("09 f0")]);
  assert.deepEqual(splitAnnexB(bin("67 42 c0 1f")), []);
  assert.deepEqual(splitAnnexB(new Uint8Array()), []);
});

Deno.test("splitAnnexB keeps emulation-prevented zeros inside a NAL unit", () => {
  assert.deepEqual(splitAnnexB(bin("00 00 01 06 00 00 03 01 80")), [bin("06 00 00 03 01 80")]);
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
