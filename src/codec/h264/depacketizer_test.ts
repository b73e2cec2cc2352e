/** Golden packets per payload type, drop-to-keyframe on loss or corruption, round trips and random input. */

import assert from "node:assert/strict";
import { type AccessUnit, H264Depacketizer } from "./depacketizer.ts";
import { packetizeH264 } from "./packetizer.ts";
import type { RtpPacket } from "../../rtp/mod.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import { bin, randomBytes, randomInt, seededRandom } from "../../shared/testing.ts";
import { depacketizeAll, Packets, throughNetwork } from "../test_packets.ts";

const sps = bin("67 42 c0 1f");
const pps = bin("68 ce 38 80");
/** Parameter sets of another stream configuration (High profile). */
const newSps = bin("67 64 00 28");
const newPps = bin("68 ee 3c 80");
const aud = bin("09 f0");
/** IDR slice with first_mb_in_slice = 0 (first bit after the header is 1). */
const idr = bin("65 88 84 21");
/** Second IDR slice of a picture: first_mb_in_slice != 0. */
const idrSecondSlice = bin("65 40 11");
const pSlice = bin("41 9a 02");

function run(inputs: ReorderOutput[], depacketizer = new H264Depacketizer()): AccessUnit[] {
  return depacketizeAll(depacketizer, inputs);
}

Deno.test("H264Depacketizer emits a single NAL unit packet with the marker as an access unit", () => {
  const p = new Packets();
  assert.deepEqual(run([p.packet(idr, 3000, true)]), [{ timestamp: 3000, nalUnits: [idr], keyframe: true }]);
});

Deno.test("H264Depacketizer unpacks a STAP-A holding SPS, PPS and an IDR slice", () => {
  const p = new Packets();
  const stapA = "78" + "0004 6742c01f" + "0004 68ce3880" + "0004 65888421";
  const depacketizer = new H264Depacketizer();
  assert.deepEqual(run([p.packet(stapA, 0, true)], depacketizer), [{
    timestamp: 0,
    nalUnits: [sps, pps, idr],
    keyframe: true,
  }]);
  assert.deepEqual(depacketizer.lastSps, sps);
  assert.deepEqual(depacketizer.lastPps, pps);
});

Deno.test("H264Depacketizer reassembles an FU-A split over 3 packets", () => {
  const p = new Packets();
  const units = run([p.packet("7c 85 88 84", 90, false), p.packet("7c 05 21 22", 90), p.packet("7c 45 23", 90, true)]);
  assert.deepEqual(units, [{ timestamp: 90, nalUnits: [bin("65 88 84 21 22 23")], keyframe: true }]);
});

Deno.test("H264Depacketizer completes an access unit when the timestamp changes without a marker", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  assert.deepEqual(depacketizer.push(p.packet(idr, 0)), []);
  assert.deepEqual(depacketizer.push(p.packet(pSlice, 3000)), [{ timestamp: 0, nalUnits: [idr], keyframe: true }]);
  assert.deepEqual(depacketizer.flush(), [{ timestamp: 3000, nalUnits: [pSlice], keyframe: false }]);
});

Deno.test("H264Depacketizer starts waiting for a keyframe and drops what comes before it", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  assert.deepEqual(depacketizer.waitingForKeyframe, true);
  const units = run([p.packet(pSlice, 0, true), p.packet(idr, 3000, true), p.packet(pSlice, 6000, true)], depacketizer);
  assert.deepEqual(units.map((u) => u.timestamp), [3000, 6000]);
  assert.deepEqual(depacketizer.waitingForKeyframe, false);
  assert.deepEqual(depacketizer.stats.droppedAccessUnits, 1);
  assert.deepEqual(depacketizer.stats.accessUnits, 2);
});

Deno.test("H264Depacketizer prepends SPS and PPS sent apart to the keyframe, after its delimiter", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  const units = run([
    p.packet(sps, 0),
    p.packet(pps, 0, true), // parameter sets alone: remembered, not an access unit
    p.packet(aud, 3000),
    p.packet(idr, 3000, true),
  ], depacketizer);
  assert.deepEqual(units, [{ timestamp: 3000, nalUnits: [aud, sps, pps, idr], keyframe: true }]);
  assert.deepEqual(depacketizer.stats.droppedAccessUnits, 0);
});

Deno.test("H264Depacketizer leaves a keyframe that carries its own parameter sets unchanged", () => {
  const p = new Packets();
  const units = run([
    p.packet(sps, 0),
    p.packet(pps, 0, true),
    p.packet("78 0004 67640028 0004 68ee3c80", 3000),
    p.packet(idr, 3000, true),
  ]);
  assert.deepEqual(units[0]!.nalUnits, [newSps, newPps, idr]);
});

Deno.test("H264Depacketizer fills in only the parameter set a keyframe lacks, in decodable order", () => {
  const p = new Packets();
  const units = run([
    p.packet(sps, 0),
    p.packet(pps, 0, true),
    p.packet(aud, 3000),
    p.packet(newSps, 3000),
    p.packet(idr, 3000, true), // has an SPS only: the remembered PPS goes after it
    p.packet(newPps, 6000),
    p.packet(idr, 6000, true), // has a PPS only: the last SPS (newSps) goes before it
  ]);
  assert.deepEqual(units.map((u) => u.nalUnits), [[aud, newSps, pps, idr], [newSps, newPps, idr]]);
});

Deno.test("H264Depacketizer drops an access unit with a loss inside an FU-A and waits for the next IDR", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  const units = run([
    p.packet(idr, 0, true),
    p.packet("5c 81 9a 00", 3000), // FU-A start of a non-IDR slice
    p.loss(1),
    p.packet("5c 41 03", 3000, true), // its end
    p.packet(pSlice, 6000, true), // decodable only with the lost picture: dropped
    p.packet("78 0004 6742c01f 0004 68ce3880", 9000),
    p.packet(idr, 9000, true),
    p.packet(pSlice, 12000, true),
  ], depacketizer);
  assert.deepEqual(units, [
    { timestamp: 0, nalUnits: [idr], keyframe: true },
    { timestamp: 9000, nalUnits: [sps, pps, idr], keyframe: true },
    { timestamp: 12000, nalUnits: [pSlice], keyframe: false },
  ]);
  assert.deepEqual(depacketizer.stats.droppedAccessUnits, 2);
  assert.deepEqual(depacketizer.stats.lostPackets, 1);
  assert.deepEqual(depacketizer.stats.malformedPackets, 0);
});

Deno.test("H264Depacketizer drops an FU-A without its start even when no loss was reported", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  const units = run(
    [p.packet(idr, 0, true), p.packet("5c 01 9a", 3000), p.packet("5c 41 9b", 3000, true)],
    depacketizer,
  );
  assert.deepEqual(units.length, 1);
  assert.deepEqual(depacketizer.waitingForKeyframe, true);
  assert.deepEqual(depacketizer.stats.droppedAccessUnits, 1);
});

Deno.test("H264Depacketizer drops an access unit whose FU-A is interrupted by another NAL unit", () => {
  const p = new Packets();
  const units = run([
    p.packet("7c 85 88", 0),
    p.packet(pSlice, 0, true),
    p.packet("7c 85 88", 3000),
    p.packet("7c 45 84", 3000, true),
  ]);
  assert.deepEqual(units, [{ timestamp: 3000, nalUnits: [bin("65 88 84")], keyframe: true }]);
});

Deno.test("H264Depacketizer drops an access unit whose FU-A never ends before the marker", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  assert.deepEqual(run([p.packet("7c 85 88", 0), p.packet("7c 05 84", 0, true)], depacketizer), []);
  assert.deepEqual(depacketizer.stats.droppedAccessUnits, 1);
});

Deno.test("H264Depacketizer counts malformed packets and drops their access units", () => {
  const cases = [
    "", // empty payload
    "e5 88", // forbidden_zero_bit set
    "78 0005 6742c01f", // STAP-A size past the end
    "78 0004 6742c01f 00", // STAP-A truncated size field
    "78 0000", // STAP-A zero-size NAL unit
    "78", // STAP-A with no NAL unit
    "78 0002 7c85", // STAP-A holding an FU-A
    "7c c5 88", // FU-A with both start and end
    "7c", // FU-A without its header
    "7c 9c 88", // FU-A of a type 28 NAL unit
    "79 0000 0003 65 88 84", // STAP-B: interleaved mode only
    "7d 85 00 00 88", // FU-B: interleaved mode only
  ];
  for (const payload of cases) {
    const p = new Packets();
    const depacketizer = new H264Depacketizer();
    const units = run([p.packet(idr, 0), p.packet(payload, 0, true), p.packet(idr, 3000, true)], depacketizer);
    assert.deepEqual(units.map((u) => u.timestamp), [3000], payload);
    assert.deepEqual(depacketizer.stats.malformedPackets, 1, payload);
    assert.deepEqual(depacketizer.stats.droppedAccessUnits, 1, payload);
  }
});

Deno.test("H264Depacketizer ignores NAL unit types 0, 30 and 31", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  const units = run(
    [p.packet("00 11", 0), p.packet("1e 22", 0), p.packet(idr, 0), p.packet("1f 33", 0, true)],
    depacketizer,
  );
  assert.deepEqual(units, [{ timestamp: 0, nalUnits: [idr], keyframe: true }]);
  assert.deepEqual(depacketizer.stats.ignoredPackets, 3);
});

Deno.test("H264Depacketizer drops a keyframe whose first slice was lost before it", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  const units = run([
    p.packet(idr, 0, true),
    p.loss(1), // the first slice of the next picture
    p.packet(idrSecondSlice, 3000, true),
    p.loss(2), // whole pictures lost; the next one starts cleanly
    p.packet(idr, 9000),
    p.packet(idrSecondSlice, 9000, true),
  ], depacketizer);
  assert.deepEqual(units.map((u) => [u.timestamp, u.nalUnits.length]), [[0, 1], [9000, 2]]);
  assert.deepEqual(depacketizer.stats.droppedAccessUnits, 1);
});

Deno.test("H264Depacketizer treats a resync (loss of count 0) as a discontinuity", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  const units = run(
    [p.packet(idr, 0, true), p.loss(0), p.packet(pSlice, 3000, true), p.packet(idr, 6000, true)],
    depacketizer,
  );
  assert.deepEqual(units.map((u) => u.timestamp), [0, 6000]);
});

Deno.test("H264Depacketizer flush emits an intact pending access unit", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer();
  depacketizer.push(p.packet(idr, 0));
  assert.deepEqual(depacketizer.flush(), [{ timestamp: 0, nalUnits: [idr], keyframe: true }]);
  assert.deepEqual(depacketizer.flush(), []);
});

Deno.test("H264Depacketizer drops an access unit that grows beyond maxAccessUnitBytes", () => {
  const p = new Packets();
  const depacketizer = new H264Depacketizer({ maxAccessUnitBytes: 6 });
  const units = run([
    p.packet("7c 85 01 02 03", 0),
    p.packet("7c 05 04 05 06", 0),
    p.packet("7c 45 07", 0, true),
    p.packet(idr, 3000, true),
  ], depacketizer);
  assert.deepEqual(units.map((u) => u.timestamp), [3000]);
  assert.deepEqual(depacketizer.stats.droppedAccessUnits, 1);
});

/** Random access units shaped like a real stream: an IDR with SPS/PPS every 10 pictures, 1-3 slices each. */
function randomStream(random: () => number, count: number, maxNalBytes: number): AccessUnit[] {
  return Array.from({ length: count }, (_, i) => {
    const keyframe = i % 10 === 0;
    const slices = Array.from({ length: randomInt(random, 1, 3) }, (_, slice) => {
      const nal = randomBytes(random, randomInt(random, 2, maxNalBytes));
      nal[0] = keyframe ? 0x65 : 0x41;
      nal[1] = slice === 0 ? nal[1]! | 0x80 : nal[1]! & 0x7f;
      return nal;
    });
    const sei = random() < 0.2 ? [bin("06 05 02 aa bb")] : [];
    return { timestamp: 0, nalUnits: keyframe ? [sps, pps, ...sei, ...slices] : [...sei, ...slices], keyframe };
  });
}

for (const mode of [0, 1] as const) {
  Deno.test(`H264Depacketizer reverses packetizeH264 mode ${mode} across sequence and timestamp wrap`, () => {
    const random = seededRandom(100 + mode);
    const mtu = 1200;
    const sent = randomStream(random, 60, mode === 0 ? mtu : 5000);
    const packets: RtpPacket[] = [];
    let sequenceNumber = 65_500;
    sent.forEach((unit, i) => {
      unit.timestamp = (2 ** 32 - 30_000 + i * 3000) >>> 0;
      const payloads = packetizeH264(unit.nalUnits, { mode, mtu });
      payloads.forEach((payload, p) => {
        const marker = p === payloads.length - 1;
        packets.push({
          payloadType: 96,
          sequenceNumber: sequenceNumber++ & 0xffff,
          timestamp: unit.timestamp,
          marker,
          ssrc: 1,
          payload,
        });
      });
    });
    const depacketizer = new H264Depacketizer();
    const received = run(throughNetwork(random, packets), depacketizer);
    assert.deepEqual(received, sent);
    assert.deepEqual(depacketizer.stats.droppedAccessUnits + depacketizer.stats.malformedPackets, 0);
  });
}

Deno.test("H264Depacketizer never throws on random packets and losses, and resumes only on keyframes", () => {
  const random = seededRandom(42);
  const headers = [0x78, 0x7c, 0x5c, 0x65, 0x41, 0x67, 0x68, 0x09, 0x06, 0x79, 0x7d, 0x00, 0x1f];
  let emitted = 0;
  for (let run = 0; run < 300; run++) {
    const depacketizer = new H264Depacketizer({ maxAccessUnitBytes: 2000 });
    let timestamp = randomInt(random, 0, 2 ** 32 - 1);
    let mustBeKeyframe = true;
    for (let i = 0; i < 200; i++) {
      let input: ReorderOutput;
      if (random() < 0.05) {
        input = { type: "loss", count: randomInt(random, 0, 3) };
      } else {
        const payload = randomBytes(random, randomInt(random, 0, 60));
        if (payload.length > 0 && random() < 0.8) payload[0] = headers[randomInt(random, 0, headers.length - 1)]!;
        if (random() < 0.3) timestamp = (timestamp + 3000) >>> 0;
        const packet = { payloadType: 96, sequenceNumber: i, timestamp, marker: random() < 0.3, ssrc: 1, payload };
        input = { type: "packet", packet, extendedSequence: i };
      }
      const units = i === 199 ? [...depacketizer.push(input), ...depacketizer.flush()] : depacketizer.push(input);
      if (input.type === "loss") mustBeKeyframe = true;
      for (const unit of units) {
        assert(!mustBeKeyframe || unit.keyframe, `run ${run}: a non-keyframe after a loss or at the start`);
        assert(unit.nalUnits.length > 0 && unit.nalUnits.every((nal) => nal.length > 0 && (nal[0]! & 0x80) === 0));
        mustBeKeyframe = false;
        emitted++;
      }
    }
  }
  assert(emitted > 100, `random streams should produce some access units, got ${emitted}`);
});
