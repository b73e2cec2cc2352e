import assert from "node:assert/strict";
import { bin, toHex } from "../../shared/testing.ts";
import { amf0, onMetaDataBody } from "./amf0.ts";

Deno.test("amf0 encodes numbers as big-endian doubles, booleans as a byte, strings with a 16-bit UTF-8 length", () => {
  assert.equal(toHex(amf0([1280])), toHex(bin("00 4094000000000000")));
  assert.equal(toHex(amf0([true, false])), toHex(bin("01 01 01 00")));
  assert.equal(toHex(amf0(["é"])), toHex(bin("02 0002 c3a9")));
});

Deno.test("onMetaDataBody writes the name string and an ECMA array with its count and end marker", () => {
  const body = onMetaDataBody(new Map<string, number | boolean>([["duration", 0], ["stereo", true]]));
  const expected = bin(
    "02 000a 'onMetaData'" + // string-marker, length 10, "onMetaData"
      "08 00000002" + // ecma-array-marker, associative-count 2
      "0008 'duration' 00 0000000000000000" + // "duration": number 0
      "0006 'stereo' 01 01" + // "stereo": boolean true
      "0000 09", // empty name, object-end-marker
  );
  assert.equal(toHex(body), toHex(expected));
});
