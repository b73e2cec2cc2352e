/** NAL unit types, Annex B splitting, sprop-parameter-sets and keyframe detection. */

import assert from "node:assert/strict";
import { isKeyframe, NalType, nalType, parseSpropParameterSets, splitAnnexB } from "./h264.ts";
import { fromHex } from "./testing.ts";

Deno.test("nalType reads the low 5 bits and ignores nal_ref_idc and forbidden bit", () => {
  assert.deepEqual(nalType(fromHex("67")), NalType.Sps);
  assert.deepEqual(nalType(fromHex("68")), NalType.Pps);
  assert.deepEqual(nalType(fromHex("65")), NalType.Idr);
  assert.deepEqual(nalType(fromHex("41")), NalType.Slice);
  assert.deepEqual(nalType(fromHex("06")), NalType.Sei);
  assert.deepEqual(nalType(fromHex("09")), NalType.Aud);
  assert.deepEqual(nalType(fromHex("0c")), NalType.Filler);
  assert.deepEqual(nalType(fromHex("78")), NalType.StapA);
  assert.deepEqual(nalType(fromHex("7c")), NalType.FuA);
  assert.deepEqual(nalType(fromHex("e5")), NalType.Idr);
  assert.deepEqual(nalType(new Uint8Array()), 0);
});

Deno.test("isKeyframe is true only when an IDR slice is present", () => {
  assert.deepEqual(isKeyframe([fromHex("67 42"), fromHex("68 ce"), fromHex("65 88")]), true);
  assert.deepEqual(isKeyframe([fromHex("09 f0"), fromHex("41 9a")]), false);
  assert.deepEqual(isKeyframe([fromHex("67 42"), fromHex("68 ce")]), false);
  assert.deepEqual(isKeyframe([]), false);
});

Deno.test("splitAnnexB handles 3- and 4-byte start codes and strips trailing zeros", () => {
  const stream = fromHex("00 00 00 01 67 42 c0 1f 00 00 01 68 ce 38 80 00 00 00 01 65 88 84 00 00 00 00 01 41 9a 00");
  assert.deepEqual(splitAnnexB(stream), [
    fromHex("67 42 c0 1f"),
    fromHex("68 ce 38 80"),
    fromHex("65 88 84"),
    fromHex("41 9a"),
  ]);
});

Deno.test("splitAnnexB ignores leading garbage and empty NAL units", () => {
  assert.deepEqual(splitAnnexB(fromHex("ff ee 00 00 01 00 00 01 09 f0 00 00 01")), [fromHex("09 f0")]);
  assert.deepEqual(splitAnnexB(fromHex("67 42 c0 1f")), []);
  assert.deepEqual(splitAnnexB(new Uint8Array()), []);
});

Deno.test("splitAnnexB keeps emulation-prevented zeros inside a NAL unit", () => {
  assert.deepEqual(splitAnnexB(fromHex("00 00 01 06 00 00 03 01 80")), [fromHex("06 00 00 03 01 80")]);
});

Deno.test("parseSpropParameterSets decodes comma-separated base64 SPS and PPS", () => {
  const nalUnits = parseSpropParameterSets("Z0LAHtkAoC/5cBEAAAMAAQAAAwA8DxYuSA==,aMuDyyA=");
  assert.deepEqual(nalUnits, [fromHex("6742c01ed900a02ff970110000030001000003003c0f162e48"), fromHex("68cb83cb20")]);
});

Deno.test("parseSpropParameterSets tolerates spaces and missing padding", () => {
  assert.deepEqual(parseSpropParameterSets(" aMuDyyA , aMuDyyA="), [fromHex("68cb83cb20"), fromHex("68cb83cb20")]);
});

Deno.test("parseSpropParameterSets rejects invalid base64 and empty entries", () => {
  assert.throws(() => parseSpropParameterSets("Z0LA*,aMuDyyA="), {
    name: "BadRequestError",
    message: /"Z0LA\*" is not base64/,
  });
  assert.throws(() => parseSpropParameterSets("aMuDyyA=,"), { name: "BadRequestError", message: /empty entry/ });
  assert.throws(() => parseSpropParameterSets(""), { name: "BadRequestError", message: /empty entry/ });
});
