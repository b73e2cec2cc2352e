/** Exact payloads for small temporal units, Z/Y fragmentation, W choice, packet splits, and random round trips. */

import assert from "node:assert/strict";
import { Av1Depacketizer } from "./depacketizer.ts";
import { readLeb128, splitObus } from "./obu.ts";
import { packetizeAv1 } from "./packetizer.ts";
import { bin, concat, randomBytes, randomInt, seededRandom, toHex } from "../../shared/testing.ts";

const td = "12 00";
const sh = "0a 0b 000000043cffbcdaf90040";
const key = "32 03 10aabb";
const inter = "32 02 30cc";
const metadata = "2a 02 0102";

/** The OBU elements of one payload, read back with the aggregation header's W (AV1 RTP spec §4.4). */
function parse(payload: Uint8Array): { z: boolean; y: boolean; w: number; n: boolean; elements: string[] } {
  const header = payload[0]!;
  const w = (header >> 4) & 3;
  const elements: string[] = [];
  let offset = 1;
  while (offset < payload.length) {
    if (w !== 0 && elements.length === w - 1) {
      elements.push(toHex(payload.subarray(offset)));
      break;
    }
    const length = readLeb128(payload, offset)!;
    offset += length.sizeBytes;
    elements.push(toHex(payload.subarray(offset, offset + length.value)));
    offset += length.value;
  }
  return { z: (header & 0x80) !== 0, y: (header & 0x40) !== 0, w, n: (header & 0x08) !== 0, elements };
}

Deno.test("packetizeAv1 drops the temporal delimiter, clears obu_has_size_field and sets W and N", () => {
  const payloads = packetizeAv1(bin(td + sh + key));
  assert.deepEqual(payloads.map(toHex), ["28" + "0c08000000043cffbcdaf90040" + "3010aabb"]);
  assert.deepEqual(packetizeAv1(bin(td + inter)).map(toHex), ["10" + "3030cc"]);
});

Deno.test("packetizeAv1 writes a length before every element when omitLastLength is false or past 3 elements", () => {
  assert.deepEqual(packetizeAv1(bin(inter), { omitLastLength: false }).map(toHex), ["00" + "03" + "3030cc"]);
  const four = packetizeAv1(bin(metadata + metadata + metadata + inter));
  assert.deepEqual(four.map(toHex), ["00" + "03280102".repeat(3) + "033030cc"]);
});

Deno.test("packetizeAv1 fragments a large OBU with Z and Y, every payload within the mtu", () => {
  const payload = randomBytes(seededRandom(3), 3000);
  payload[0] = 0x30; // show_existing_frame 0, INTER_FRAME, show_frame 1
  const frame = concat([bin("32 b817"), payload]); // obu_size 3000
  const payloads = packetizeAv1(frame, { mtu: 1200 });
  assert.equal(payloads.length, 3);
  const parsed = payloads.map(parse);
  assert.deepEqual(parsed.map((p) => [p.z, p.y, p.w, p.n]), [
    [false, true, 1, false],
    [true, true, 1, false],
    [true, false, 1, false],
  ]);
  assert(payloads.every((p) => p.length <= 1200));
  assert.equal(parsed.map((p) => p.elements.join("")).join(""), "30" + toHex(payload));
});

Deno.test("packetizeAv1 fills the rest of a packet with the start of the next OBU", () => {
  // mtu 10: aggregation header, length, a 4-byte element (6 bytes); 4 left: a length and 3 bytes of the frame.
  const payloads = packetizeAv1(bin("2a 03 010203" + "32 06 3001020304aa"), { mtu: 10 });
  assert.deepEqual(payloads.map(parse).map((p) => [p.z, p.y, p.elements]), [
    [false, true, ["28010203", "303001"]],
    [true, false, ["020304aa"]],
  ]);
  // mtu 14 holds both whole (1 + 5 + 8), even with every length written.
  const whole = packetizeAv1(bin("2a 03 010203" + "32 06 3001020304aa"), { mtu: 14, omitLastLength: false });
  assert.deepEqual(whole.map(toHex), ["00" + "0428010203" + "07303001020304aa"]);
});

Deno.test("packetizeAv1 starts a new packet at a sequence header and at a change of layer", () => {
  const base = "36 00 02 30aa"; // temporal_id 0, spatial_id 0
  const enhancement = "36 08 02 30bb"; // spatial_id 1
  const payloads = packetizeAv1(bin(metadata + sh + key + base + enhancement));
  assert.deepEqual(payloads.map(parse).map((p) => p.elements), [
    ["280102"],
    ["08000000043cffbcdaf90040", "3010aabb", "340030aa"],
    ["340830bb"],
  ]);
  assert.deepEqual(payloads.map(parse).map((p) => p.n), [true, false, false]);
});

Deno.test("packetizeAv1 drops tile list OBUs and keeps padding", () => {
  const payloads = packetizeAv1(bin("42 02 0102" + inter + "7a 02 0000"));
  assert.deepEqual(parse(payloads[0]!).elements, ["3030cc", "780000"]);
});

Deno.test("packetizeAv1 rejects a bad mtu, a temporal unit with nothing to send and OBUs that do not parse", () => {
  assert.throws(() => packetizeAv1(bin(inter), { mtu: 2 }), {
    name: "BadRequestError",
    message: "AV1 packetizer: mtu must be 3 or more, got 2",
  });
  assert.throws(() => packetizeAv1(bin(inter), { mtu: 1.5 }), { name: "BadRequestError" });
  assert.throws(() => packetizeAv1(bin(td)), {
    name: "BadRequestError",
    message: "AV1 packetizer: the temporal unit has no OBU to send",
  });
  assert.throws(() => packetizeAv1(bin("32 09 00")), { name: "BadRequestError", message: /obu_size 9 runs past/ });
});

Deno.test("packetizeAv1 output always fits the mtu and depacketizes to the temporal unit, for random sizes", () => {
  const random = seededRandom(11);
  const sizes = [0, 1, 126, 127, 128, 129, 16382, 16383, 16384, 16385];
  for (let i = 0; i < 200; i++) {
    const mtu = randomInt(random, 3, 1500);
    const omitLastLength = random() < 0.5;
    const obus = Array.from({ length: randomInt(random, 1, 6) }, (_, k) => {
      const size = random() < 0.5 ? sizes[randomInt(random, 0, sizes.length - 1)]! : randomInt(random, 0, 3000);
      const payload = randomBytes(random, size);
      if (k === 0 && size > 0) payload[0] = 0x10; // a shown key frame first, so it is emitted
      const type = k === 0 ? 0x30 : 0x28; // a frame, then metadata
      const header = random() < 0.3 ? Uint8Array.of(type | 0x06, 0x00) : Uint8Array.of(type | 0x02);
      const length = new Uint8Array(8);
      let n = 0;
      for (let value = size; n === 0 || value > 0; value = Math.floor(value / 128)) {
        length[n++] = (value % 128) | (value >= 128 ? 0x80 : 0);
      }
      return concat([header, length.subarray(0, n), payload]);
    });
    const temporalUnit = concat([bin(sh), ...obus]);
    const payloads = packetizeAv1(temporalUnit, { mtu, omitLastLength });
    assert(payloads.every((p) => p.length <= mtu), `case ${i}: mtu ${mtu}`);
    const depacketizer = new Av1Depacketizer();
    const frames = payloads.flatMap((payload, p) => {
      const marker = p === payloads.length - 1;
      const packet = { payloadType: 45, sequenceNumber: p, timestamp: 0, marker, ssrc: 1, payload };
      return depacketizer.push({ type: "packet", packet, extendedSequence: p });
    });
    assert.equal(depacketizer.stats.malformedPackets, 0, `case ${i}`);
    // The first OBU is a frame; with a payload it starts a shown key frame and the unit comes back whole.
    const firstPayloadBytes = splitObus(temporalUnit)[1]!.payload.length;
    assert.equal(frames.length, firstPayloadBytes > 0 ? 1 : 0, `case ${i}`);
    if (frames.length === 1) assert.equal(toHex(frames[0]!.data), toHex(temporalUnit), `case ${i}`);
  }
});
