/** Golden STAP-A, FU-A and single NAL unit payloads built by hand from RFC 6184. */

import assert from "node:assert/strict";
import { packetizeH264 } from "./packetizer.ts";
import { bin, toHex } from "../../shared/testing.ts";

const sps = bin("67 42 c0 1f");
const pps = bin("68 ce 38 80");

Deno.test("packetizeH264 aggregates small NAL units into one STAP-A", () => {
  const sei = bin("06 05 01");
  const payloads = packetizeH264([sps, pps, sei], { mode: 1 });
  assert.deepEqual(payloads.map(toHex), ["78" + "0004" + "6742c01f" + "0004" + "68ce3880" + "0003" + "060501"]);
});

Deno.test("packetizeH264 gives a STAP-A the highest NRI of its NAL units", () => {
  const payloads = packetizeH264([bin("06 05 01"), bin("48 ce"), bin("21 9a")], { mode: 1 });
  assert.deepEqual(payloads.map(toHex), ["58" + "0003060501" + "000248ce" + "0002219a"]);
});

Deno.test("packetizeH264 sends a NAL unit alone as a single NAL unit packet", () => {
  const idr = bin("65 88 84 00");
  assert.deepEqual(packetizeH264([idr], { mode: 1 }), [idr]);
});

Deno.test("packetizeH264 fragments a NAL unit larger than the MTU into FU-A", () => {
  const idr = bin("65 01 02 03 04 05 06 07 08");
  const payloads = packetizeH264([sps, idr], { mode: 1, mtu: 5 });
  assert.deepEqual(payloads.map(toHex), ["6742c01f", "7c85010203", "7c05040506", "7c450708"]);
});

Deno.test("packetizeH264 starts a new STAP-A when the next NAL unit would not fit", () => {
  const payloads = packetizeH264([sps, pps, sps, pps], { mode: 1, mtu: 13 });
  assert.deepEqual(payloads.map(toHex), [
    "78" + "00046742c01f" + "000468ce3880",
    "78" + "00046742c01f" + "000468ce3880",
  ]);
  const single = packetizeH264([sps, pps, sps], { mode: 1, mtu: 13 });
  assert.deepEqual(single.map(toHex), ["7800046742c01f000468ce3880", "6742c01f"]);
});

Deno.test("packetizeH264 mode 0 sends every NAL unit alone and refuses oversized ones", () => {
  assert.deepEqual(packetizeH264([sps, pps], { mode: 0 }), [sps, pps]);
  assert.throws(() => packetizeH264([sps], { mode: 0, mtu: 3 }), {
    name: "BadRequestError",
    message: /4-byte NAL unit exceeds mtu 3/,
  });
});

Deno.test("packetizeH264 rejects an empty NAL unit and an unusable MTU", () => {
  assert.throws(() => packetizeH264([new Uint8Array()], { mode: 1 }), {
    name: "BadRequestError",
    message: /empty NAL unit/,
  });
  assert.throws(() => packetizeH264([sps], { mode: 1, mtu: 2 }), {
    name: "BadRequestError",
    message: /mtu must be between 3 and 65535/,
  });
});
