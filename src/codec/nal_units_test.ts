/** Annex B and 4-byte length-prefixed NAL unit framing. */

import assert from "node:assert/strict";
import { BadRequestError } from "../shared/errors.ts";
import { bin } from "../shared/testing.ts";
import { splitAnnexB, splitLengthPrefixed, toLengthPrefixed } from "./nal_units.ts";

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

Deno.test("splitAnnexB splits on 3- and 4-byte start codes and drops trailing zeros", () => {
  const stream = bin("ff 00000001 4001 0c 000001 4201 01 00 00000001 2601 af 0000");
  assert.deepEqual(splitAnnexB(stream), [bin("4001 0c"), bin("4201 01"), bin("2601 af")]);
  assert.deepEqual(splitAnnexB(bin("0102 03")), []);
});

Deno.test("toLengthPrefixed and splitLengthPrefixed are inverses", () => {
  const nalUnits = [bin("4001 0c"), bin("2601 af 00 01")];
  const sample = toLengthPrefixed(nalUnits);
  assert.deepEqual(sample, bin("00000003 40010c 00000005 2601af0001"));
  assert.deepEqual(splitLengthPrefixed(sample), nalUnits);
  assert.deepEqual(splitLengthPrefixed(new Uint8Array()), []);
});

Deno.test("splitLengthPrefixed rejects a length past the end, a zero length and stray bytes", () => {
  assert.throws(() => splitLengthPrefixed(bin("00000004 4001 0c")), BadRequestError);
  assert.throws(() => splitLengthPrefixed(bin("00000000")), BadRequestError);
  assert.throws(() => splitLengthPrefixed(bin("00000002 4001 00")), /stray bytes/);
});
