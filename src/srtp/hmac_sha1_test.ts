/** HMAC-SHA1: RFC 2202's test cases, node:crypto's createHmac at every tail length, and constantTimeEqual. */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { bin, seededRandom, toHex } from "../shared/testing.ts";
import { constantTimeEqual, HmacSha1 } from "./hmac_sha1.ts";

const ascii = (text: string) => new TextEncoder().encode(text);
const filled = (byte: number, length: number) => new Uint8Array(length).fill(byte);

Deno.test("HmacSha1 passes the seven RFC 2202 test cases", () => {
  const cases: [Uint8Array, Uint8Array, string][] = [
    [filled(0x0b, 20), ascii("Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00"],
    [ascii("Jefe"), ascii("what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"],
    [filled(0xaa, 20), filled(0xdd, 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3"],
    [
      bin("0102030405060708090a0b0c0d0e0f10111213141516171819"),
      filled(0xcd, 50),
      "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
    ],
    [filled(0x0c, 20), ascii("Test With Truncation"), "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04"],
    [
      filled(0xaa, 80),
      ascii("Test Using Larger Than Block-Size Key - Hash Key First"),
      "aa4ae5e15272d00e95705637ce8a3b55ed402112",
    ],
    [
      filled(0xaa, 80),
      ascii("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"),
      "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
    ],
  ];
  for (const [key, data, digest] of cases) {
    assert.equal(toHex(new HmacSha1(key).compute(data, data.length)), digest);
  }
});

Deno.test("HmacSha1 matches createHmac for every message length to 200 bytes, with and without a suffix", () => {
  const random = seededRandom(5);
  const key = Uint8Array.from({ length: 20 }, () => Math.floor(random() * 256));
  const hmac = new HmacSha1(key);
  // A view at an odd offset, as a packet inside a larger datagram buffer.
  const backing = Uint8Array.from({ length: 260 }, () => Math.floor(random() * 256));
  const message = backing.subarray(3);
  const suffix = 0xfedcba98;
  const suffixBytes = bin("fedcba98");
  for (let length = 0; length <= 200; length++) {
    const plain = createHmac("sha1", key).update(message.subarray(0, length)).digest("hex");
    assert.equal(toHex(hmac.compute(message, length)), plain, `${length} bytes`);
    const withSuffix = createHmac("sha1", key).update(message.subarray(0, length)).update(suffixBytes).digest("hex");
    assert.equal(toHex(hmac.compute(message, length, suffix)), withSuffix, `${length} bytes and a suffix`);
  }
});

Deno.test("HmacSha1.compute returns one buffer that the next call overwrites", () => {
  const hmac = new HmacSha1(filled(1, 20));
  const first = hmac.compute(ascii("a"), 1);
  const firstHex = toHex(first);
  const second = hmac.compute(ascii("b"), 1);
  assert.equal(first, second);
  assert.notEqual(toHex(second), firstHex);
});

Deno.test("constantTimeEqual compares ranges of two arrays", () => {
  const a = bin("00 01 02 03 04 05");
  const b = bin("09 02 03 04 09");
  assert.equal(constantTimeEqual(a, 2, b, 1, 3), true);
  assert.equal(constantTimeEqual(a, 2, b, 1, 4), false);
  assert.equal(constantTimeEqual(a, 0, b, 0, 0), true);
});
