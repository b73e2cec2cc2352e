/** RTP header parsing with CSRC, extension and padding; malformed packets; random bytes. */

import assert from "node:assert/strict";
import { BadRequestError } from "../shared/errors.ts";
import { parseRtpPacket, serializeRtpPacket } from "./packet.ts";
import { bin, randomBytes, randomInt, seededRandom, toHex } from "../shared/testing.ts";

Deno.test("parseRtpPacket reads the fixed header of a minimal packet", () => {
  const packet = parseRtpPacket(bin("80 e0 ff fe 00 01 5f 90 12 34 56 78 65 88"));
  assert.deepEqual(packet, {
    payloadType: 96,
    sequenceNumber: 65534,
    timestamp: 90000,
    marker: true,
    ssrc: 0x12345678,
    payload: bin("65 88"),
  });
});

Deno.test("parseRtpPacket skips CSRCs and the header extension and strips padding", () => {
  const bytes = bin(
    "b2 6f 00 07 ff ff ff ff de ad be ef" + // V=2 P=1 X=1 CC=2, PT=111, seq 7, ts 2^32-1
      "00 00 00 01 00 00 00 02" + // two CSRCs
      "be de 00 01 10 ff 00 00" + // one-byte header extension, 1 word
      "fc ff fe" + // Opus payload
      "00 00 03", // 3 bytes of padding
  );
  const packet = parseRtpPacket(bytes);
  assert.deepEqual(packet.payloadType, 111);
  assert.deepEqual(packet.marker, false);
  assert.deepEqual(packet.sequenceNumber, 7);
  assert.deepEqual(packet.timestamp, 0xffffffff);
  assert.deepEqual(packet.ssrc, 0xdeadbeef);
  assert.deepEqual(packet.payload, bin("fc ff fe"));
});

Deno.test("parseRtpPacket accepts an empty payload", () => {
  assert.deepEqual(parseRtpPacket(bin("80 60 00 01 00 00 00 00 00 00 00 01")).payload, new Uint8Array());
});

Deno.test("parseRtpPacket rejects what is not well-formed RTP v2", () => {
  const cases: [string, RegExp][] = [
    ["80 60 00 01 00 00 00 00 00 00 00", /shorter than the 12-byte header/],
    ["40 60 00 01 00 00 00 00 00 00 00 01", /version 1, expected 2/],
    ["82 60 00 01 00 00 00 00 00 00 00 01 00 00 00 01", /headers and padding need 20 bytes, packet has 16/],
    ["90 60 00 01 00 00 00 00 00 00 00 01 be de", /header extension starts past the end/],
    ["90 60 00 01 00 00 00 00 00 00 00 01 be de 00 02 00 00 00 00", /need 24 bytes/],
    ["a0 60 00 01 00 00 00 00 00 00 00 01 aa 00", /padding count of 0/],
    ["a0 60 00 01 00 00 00 00 00 00 00 01 aa 04", /need 16 bytes, packet has 14/],
  ];
  for (const [hex, message] of cases) {
    assert.throws(() => parseRtpPacket(bin(hex)), { name: "BadRequestError", message });
  }
});

Deno.test("serializeRtpPacket writes a minimal header that parses back", () => {
  const packet = {
    payloadType: 96,
    sequenceNumber: 65535,
    timestamp: 0xfffffff0,
    marker: true,
    ssrc: 1,
    payload: bin("7c 85"),
  };
  const bytes = serializeRtpPacket(packet);
  assert.deepEqual(toHex(bytes), "80e0fffffffffff0000000017c85");
  assert.deepEqual(parseRtpPacket(bytes), packet);
});

Deno.test("parseRtpPacket throws only BadRequestError on random bytes", () => {
  const random = seededRandom(11);
  for (let i = 0; i < 20_000; i++) {
    const bytes = randomBytes(random, randomInt(random, 0, 40));
    if (bytes.length > 0 && random() < 0.7) bytes[0] = (bytes[0]! & 0x3f) | 0x80;
    try {
      const packet = parseRtpPacket(bytes);
      assert.deepEqual(packet.payload.length <= bytes.length - 12, true);
    } catch (error) {
      if (!(error instanceof BadRequestError)) throw error;
    }
  }
});
