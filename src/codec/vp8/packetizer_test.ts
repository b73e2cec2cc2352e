/** Golden VP8 payloads built by hand from RFC 7741 §4.2. */

import assert from "node:assert/strict";
import { packetizeVp8 } from "./packetizer.ts";
import { bin, toHex } from "../../shared/testing.ts";

const frame = bin("70 24 00 9d012a 4001 f000");

Deno.test("packetizeVp8 sends a small frame as one payload with S = 1 and PID = 0", () => {
  assert.deepEqual(packetizeVp8(frame).map(toHex), ["10" + toHex(frame)]);
});

Deno.test("packetizeVp8 splits a frame into near-equal payloads, S = 1 on the first only", () => {
  // 10 bytes, 8 per payload at most: two payloads of 5 rather than 8 and 2.
  assert.deepEqual(packetizeVp8(frame, { mtu: 9 }).map(toHex), ["10" + "7024009d01", "00" + "2a4001f000"]);
  assert.deepEqual(packetizeVp8(frame, { mtu: 5 }).map(toHex), ["107024009d", "00012a4001", "00f000"]);
});

Deno.test("packetizeVp8 repeats a 15-bit PictureID and the N bit in every payload", () => {
  const payloads = packetizeVp8(frame, { mtu: 9, pictureId: 0x1234, nonReference: true });
  assert.deepEqual(payloads.map(toHex), ["b0809234" + "7024009d01", "a0809234" + "2a4001f000"]);
});

Deno.test("packetizeVp8 rejects an empty frame and an mtu without room for data", () => {
  assert.throws(() => packetizeVp8(new Uint8Array()), { name: "BadRequestError", message: /empty frame/ });
  assert.throws(() => packetizeVp8(frame, { mtu: 1 }), {
    name: "BadRequestError",
    message: /between 2 and 65535, got 1/,
  });
  assert.throws(() => packetizeVp8(frame, { mtu: 4, pictureId: 1 }), {
    name: "BadRequestError",
    message: /between 5 and 65535, got 4/,
  });
});
