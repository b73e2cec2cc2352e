/** Golden payloads per structure, RTP header fields, and the round trip through H265Depacketizer. */

import assert from "node:assert/strict";
import { H265Depacketizer } from "./depacketizer.ts";
import { splitLengthPrefixed, toLengthPrefixed } from "../nal_units.ts";
import { packetizeH265, packetizeH265Frame } from "./packetizer.ts";
import { bin, randomBytes, randomInt, seededRandom, toHex } from "../../shared/testing.ts";

const vps = bin("4001 0c01");
const sps = bin("4201 0101");
const idr = bin("2601 af 10 11 12 13 14 15 16");

Deno.test("packetizeH265 sends a NAL unit that fits alone as a single NAL unit packet", () => {
  assert.deepEqual(packetizeH265([idr], { maxPayloadBytes: 10 }), [idr]);
});

Deno.test("packetizeH265 aggregates small NAL units with the OR of F, the lowest LayerId and the lowest TID", () => {
  const layer1Tid3 = bin("020b aa");
  const layer2Tid2 = bin("0212 bb");
  const forbiddenLayer2Tid3 = bin("8213 cc");
  const payloads = packetizeH265([layer1Tid3, layer2Tid2, forbiddenLayer2Tid3], { maxPayloadBytes: 100 });
  // F 1, type 48, LayerId 1, TID 2: 1110 0000 0000 1010
  assert.deepEqual(payloads.map(toHex), ["e00a" + "0003020baa" + "00030212bb" + "00038213cc"]);
});

Deno.test("packetizeH265 closes an AP when the next NAL unit would overflow it", () => {
  // AP of vps+sps = 2 + 6 + 6 = 14 bytes; adding idr (2 + 10) would make 26.
  const payloads = packetizeH265([vps, sps, idr], { maxPayloadBytes: 20 });
  assert.deepEqual(payloads.map(toHex), ["6001000440010c01000442010101", toHex(idr)]);
});

Deno.test("packetizeH265 fragments a large NAL unit into FUs with S, E and FuType, keeping LayerId and TID", () => {
  const nal = bin("2603 af 10 11 12 13 14 15 16"); // IDR_W_RADL, TID 3, 8-byte body after the 2-byte header
  const payloads = packetizeH265([nal], { maxPayloadBytes: 6 });
  assert.deepEqual(payloads.map(toHex), ["620393af1011", "620313121314", "6203531516"]);
});

Deno.test("packetizeH265Frame numbers packets across the 16-bit wrap and marks the last one", () => {
  const slice = new Uint8Array(30).fill(0x26, 0, 1).fill(1, 1, 2);
  const frame = { timestamp: 0xfffffff0, data: toLengthPrefixed([vps, sps, slice]) };
  // vps and sps do not fit one 12-byte AP; the 28-byte slice body takes 4 FUs of up to 9 bytes.
  const packets = packetizeH265Frame(frame, { sequenceNumber: 0xfffe, maxPayloadBytes: 12, payloadType: 100, ssrc: 7 });
  assert.deepEqual(packets.map((p) => p.sequenceNumber), [0xfffe, 0xffff, 0, 1, 2, 3]);
  assert.deepEqual(packets.map((p) => p.marker), [false, false, false, false, false, true]);
  assert(packets.every((p) => p.timestamp === 0xfffffff0 && p.payloadType === 100 && p.ssrc === 7));
});

Deno.test("packetizeH265 rejects a payload size below 4 bytes and NAL units without a header", () => {
  assert.throws(() => packetizeH265([idr], { maxPayloadBytes: 3 }), /between 4 and 65535, got 3/);
  assert.throws(() => packetizeH265([bin("26")]), /1 bytes has no header/);
});

Deno.test("H265Depacketizer reverses packetizeH265Frame for random access units", () => {
  const random = seededRandom(1200);
  for (let round = 0; round < 50; round++) {
    const depacketizer = new H265Depacketizer();
    const maxPayloadBytes = randomInt(random, 4, 1400);
    let sequenceNumber = randomInt(random, 0, 0xffff);
    for (let unit = 0; unit < 10; unit++) {
      const nalUnits = Array.from({ length: randomInt(random, 1, 6) }, (_, i) => {
        const nal = randomBytes(random, randomInt(random, 2, 3000));
        nal[0] = unit === 0 && i === 0 ? 0x26 : 0x02; // an IDR first, then trailing pictures
        nal[1] = randomInt(random, 1, 7);
        if (i === 0) nal[2] = 0x80 | (nal[2] ?? 0); // first_slice_segment_in_pic_flag
        return nal;
      });
      const frame = { timestamp: unit * 3000, data: toLengthPrefixed(nalUnits) };
      const packets = packetizeH265Frame(frame, { sequenceNumber, maxPayloadBytes });
      assert(packets.every((p) => p.payload.length <= maxPayloadBytes));
      const out = packets.flatMap((packet) =>
        depacketizer.push({ type: "packet", packet, extendedSequence: packet.sequenceNumber })
      );
      sequenceNumber = (sequenceNumber + packets.length) & 0xffff;
      assert.equal(out.length, 1, `round ${round} unit ${unit}`);
      assert.deepEqual(splitLengthPrefixed(out[0]!.data), nalUnits);
      assert.equal(out[0]!.keyframe, unit === 0);
    }
  }
});
