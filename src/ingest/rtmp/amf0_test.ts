/** AMF0: golden bytes for every type both ways, the decoder's leniencies, and hostile bytes that only ever throw RtmpProtocolError. */

import assert from "node:assert/strict";
import { AMF0_MAX_DEPTH, Amf0EcmaArray, amf0Object, type Amf0Value, decodeAmf0, encodeAmf0 } from "./amf0.ts";
import { RtmpProtocolError } from "./errors.ts";
import { bin, randomBytes, randomInt, seededRandom, toHex } from "../../shared/testing.ts";

const GOLDEN: { name: string; value: Amf0Value; bytes: string }[] = [
  { name: "number", value: 1.5, bytes: "00 3ff8000000000000" },
  { name: "number zero", value: 0, bytes: "00 0000000000000000" },
  { name: "boolean true", value: true, bytes: "01 01" },
  { name: "boolean false", value: false, bytes: "01 00" },
  { name: "string", value: "connect", bytes: "02 0007 'connect'" },
  { name: "empty string", value: "", bytes: "02 0000" },
  { name: "UTF-8 string", value: "é", bytes: "02 0002 c3a9" },
  { name: "null", value: null, bytes: "05" },
  { name: "undefined", value: undefined, bytes: "06" },
  { name: "empty object", value: new Map(), bytes: "03 000009" },
  {
    name: "object, properties in order",
    value: amf0Object({ app: "live", tcUrl: "rtmp://h/live" }),
    bytes: "03 0003 'app' 02 0004 'live' 0005 'tcUrl' 02 000d 'rtmp://h/live' 000009",
  },
  {
    name: "ECMA array",
    value: new Amf0EcmaArray([["width", 640], ["stereo", true]]),
    bytes: "08 00000002 0005 'width' 00 4084000000000000 0006 'stereo' 01 01 000009",
  },
  { name: "strict array", value: [1, "a", null], bytes: "0a 00000003 00 3ff0000000000000 02 0001 'a' 05" },
  { name: "empty strict array", value: [], bytes: "0a 00000000" },
  { name: "date (time zone 0)", value: new Date(1_700_000_000_000), bytes: "0b 4278bcfe56800000 0000" },
  {
    name: "nested object in an ECMA array",
    value: new Amf0EcmaArray([["o", amf0Object({ n: 30 })]]),
    bytes: "08 00000001 0001 'o' 03 0001 'n' 00 403e000000000000 000009 000009",
  },
];

for (const { name, value, bytes } of GOLDEN) {
  Deno.test(`AMF0 ${name} encodes to its golden bytes and decodes back`, () => {
    assert.equal(toHex(encodeAmf0(value)), toHex(bin(bytes)));
    assert.deepEqual(decodeAmf0(bin(bytes)), [value]);
  });
}

Deno.test("AMF0 decodes a command's values back to back", () => {
  const bytes = encodeAmf0("_result", 1, null, amf0Object({ level: "status" }));
  assert.deepEqual(decodeAmf0(bytes), ["_result", 1, null, amf0Object({ level: "status" })]);
});

Deno.test("AMF0 strings over 65535 UTF-8 bytes become long strings, and long strings decode", () => {
  const long = "x".repeat(70_000);
  const bytes = encodeAmf0(long);
  assert.equal(toHex(bytes.subarray(0, 5)), "0c00011170");
  assert.equal(bytes.length, 5 + 70_000);
  assert.deepEqual(decodeAmf0(bytes), [long]);
  assert.deepEqual(decodeAmf0(bin("0c 00000002 'hi'")), ["hi"]);
});

Deno.test("AMF0 date ignores a non-zero time zone", () => {
  assert.deepEqual(decodeAmf0(bin("0b 4278bcfe56800000 ff88")), [new Date(1_700_000_000_000)]);
});

Deno.test("AMF0 ECMA array ends at its end marker whatever its count says", () => {
  assert.deepEqual(decodeAmf0(bin("08 00000009 0001 'a' 05 000009")), [new Amf0EcmaArray([["a", null]])]);
  assert.deepEqual(decodeAmf0(bin("08 00000000 0001 'a' 05 0001 'b' 06 000009")), [
    new Amf0EcmaArray([["a", null], ["b", undefined]]),
  ]);
});

Deno.test("AMF0 ECMA array may leave out the end marker at the end of the bytes once its count is reached", () => {
  assert.deepEqual(decodeAmf0(bin("08 00000001 0001 'a' 05")), [new Amf0EcmaArray([["a", null]])]);
  assert.throws(() => decodeAmf0(bin("08 00000002 0001 'a' 05")), RtmpProtocolError);
});

Deno.test("AMF0 decoding names the offending marker and offset", () => {
  assert.throws(() => decodeAmf0(bin("05 07 0001")), { name: "RtmpProtocolError", message: /offset 1.*reference/ });
  assert.throws(() => decodeAmf0(bin("10 0001 'a'")), /typed object/);
  assert.throws(() => decodeAmf0(bin("11 02")), /AMF3 switch/);
  assert.throws(() => decodeAmf0(bin("09")), /object-end marker outside an object/);
  assert.throws(() => decodeAmf0(bin("03 0000 05")), /empty property name followed by 0x05/);
  assert.throws(() => decodeAmf0(bin("02 0005 'abc'")), /string needs 5 bytes, 3 left/);
});

Deno.test("AMF0 refuses a strict array count larger than the bytes left, without looping over it", () => {
  assert.throws(() => decodeAmf0(bin("0a ffffffff 05 05")), /strict array of 4294967295 values in 2 bytes/);
});

Deno.test(`AMF0 nesting is bounded at ${AMF0_MAX_DEPTH} levels in both directions`, () => {
  const nested = (depth: number) => bin("0a 00000001".repeat(depth) + "05");
  let value: Amf0Value = null;
  for (let i = 0; i < AMF0_MAX_DEPTH; i++) value = [value];
  assert.deepEqual(decodeAmf0(nested(AMF0_MAX_DEPTH)), [value]);
  assert.throws(() => decodeAmf0(nested(AMF0_MAX_DEPTH + 1)), { name: "RtmpProtocolError", message: /nesting/ });
  assert.throws(() => decodeAmf0(nested(100_000)), RtmpProtocolError);
  const cyclic: Amf0Value[] = [];
  cyclic.push(cyclic);
  assert.throws(() => encodeAmf0(cyclic), RangeError);
});

Deno.test("AMF0 encoding refuses an empty property name, which would read as the object end", () => {
  assert.throws(() => encodeAmf0(amf0Object({ "": 1 })), RangeError);
});

Deno.test("AMF0 every truncation of an object throws RtmpProtocolError", () => {
  const bytes = encodeAmf0(
    amf0Object({ app: "live", list: [1, true, new Date(0)], inner: new Amf0EcmaArray([["k", "v"]]) }),
  );
  for (let end = 1; end < bytes.length; end++) {
    assert.throws(() => decodeAmf0(bytes.subarray(0, end)), RtmpProtocolError, `truncated at ${end}`);
  }
});

Deno.test("AMF0 random and mutated bytes decode or throw RtmpProtocolError, nothing else", () => {
  const random = seededRandom(0xa3f0);
  const valid = encodeAmf0(
    "onMetaData",
    new Amf0EcmaArray([["width", 640], ["encoder", "x"], ["o", amf0Object({ a: [null, undefined] })]]),
  );
  for (let i = 0; i < 20_000; i++) {
    let bytes: Uint8Array;
    if (i % 2 === 0) {
      bytes = randomBytes(random, randomInt(random, 0, 64));
    } else {
      bytes = valid.slice(0, randomInt(random, 0, valid.length));
      for (let flips = randomInt(random, 1, 4); flips > 0 && bytes.length > 0; flips--) {
        bytes[randomInt(random, 0, bytes.length - 1)] = randomInt(random, 0, 255);
      }
    }
    try {
      decodeAmf0(bytes);
    } catch (error) {
      if (!(error instanceof RtmpProtocolError)) throw new Error(`${toHex(bytes)} threw ${error}`);
    }
  }
});
