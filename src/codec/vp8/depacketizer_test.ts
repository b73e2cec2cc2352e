/** Hand-built RFC 7741 packets, drop-to-keyframe on loss or corruption, a packetizer round trip and random input. */

import assert from "node:assert/strict";
import type { Frame } from "../codec.ts";
import type { ReorderOutput, RtpPacket } from "../../rtp/mod.ts";
import { bin, concat, randomBytes, randomInt, seededRandom } from "../../shared/testing.ts";
import { Vp8Depacketizer } from "./depacketizer.ts";
import { packetizeVp8 } from "./packetizer.ts";
import { depacketizeAll, Packets, throughNetwork } from "../test_packets.ts";

/** A 320x240 key frame: tag, start code, size, then two bytes of "partition data". */
const key = bin("70 24 00 9d012a 4001 f000 1122");
/** An inter frame. */
const inter = bin("31 00 00 3344");

function run(inputs: ReorderOutput[], depacketizer = new Vp8Depacketizer()): Frame[] {
  return depacketizeAll(depacketizer, inputs);
}

/** A payload: descriptor hex followed by VP8 data. */
function payload(descriptor: string, data: Uint8Array): Uint8Array {
  return concat([bin(descriptor), data]);
}

Deno.test("Vp8Depacketizer emits a one-packet key frame without its descriptor", () => {
  const p = new Packets();
  const depacketizer = new Vp8Depacketizer();
  assert.deepEqual(run([p.packet(payload("10", key), 3000, true)], depacketizer), [
    { timestamp: 3000, keyframe: true, data: key },
  ]);
  assert.deepEqual(depacketizer.waitingForKeyframe, false);
  assert.deepEqual(depacketizer.stats.frames, 1);
});

Deno.test("Vp8Depacketizer joins a frame split over 3 packets whatever extensions the descriptors carry", () => {
  const p = new Packets();
  const frames = run([
    p.packet(payload("90 f0 8123 05 40", key.subarray(0, 4)), 0), // S=1, I (15 bits), L, T, K
    p.packet(payload("80 80 8123", key.subarray(4, 9)), 0), // continuation with a PictureID
    p.packet(payload("01", key.subarray(9)), 0, true), // S=0, PID=1 (a later partition)
  ]);
  assert.deepEqual(frames, [{ timestamp: 0, keyframe: true, data: key }]);
});

Deno.test("Vp8Depacketizer keeps a frame whose later partitions start with S = 1 and PID > 0", () => {
  const p = new Packets();
  const frames = run([
    p.packet(payload("10", key), 0),
    p.packet(payload("11", bin("aa")), 0), // partition 1 starts
    p.packet(payload("12", bin("bb")), 0, true), // partition 2 starts
  ]);
  assert.deepEqual(frames.map((f) => f.data), [concat([key, bin("aa bb")])]);
});

Deno.test("Vp8Depacketizer ends a frame when the timestamp changes without a marker", () => {
  const p = new Packets();
  const depacketizer = new Vp8Depacketizer();
  assert.deepEqual(depacketizer.push(p.packet(payload("10", key), 0)), []);
  assert.deepEqual(depacketizer.push(p.packet(payload("10", inter), 3000)), [{
    timestamp: 0,
    keyframe: true,
    data: key,
  }]);
  assert.deepEqual(depacketizer.flush(), [{ timestamp: 3000, keyframe: false, data: inter }]);
  assert.deepEqual(depacketizer.flush(), []);
});

Deno.test("Vp8Depacketizer waits for a key frame at the start and drops inter frames before it", () => {
  const p = new Packets();
  const depacketizer = new Vp8Depacketizer();
  assert.deepEqual(depacketizer.waitingForKeyframe, true);
  const frames = run([
    p.packet(payload("10", inter), 0, true),
    p.packet(payload("10", key), 3000, true),
    p.packet(payload("10", inter), 6000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => [f.timestamp, f.keyframe]), [[3000, true], [6000, false]]);
  assert.deepEqual(depacketizer.stats.droppedFrames, 1);
});

Deno.test("Vp8Depacketizer drops a frame with a loss inside and every frame up to the next key frame", () => {
  const p = new Packets();
  const depacketizer = new Vp8Depacketizer();
  const frames = run([
    p.packet(payload("10", key), 0, true),
    p.packet(payload("10", inter.subarray(0, 2)), 3000),
    p.loss(1),
    p.packet(payload("00", inter.subarray(2)), 3000, true), // its end: the frame is incomplete
    p.packet(payload("10", inter), 6000, true), // intact, but predicts from the lost frame
    p.packet(payload("10", key), 9000, true),
    p.packet(payload("10", inter), 12000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 9000, 12000]);
  assert.deepEqual(depacketizer.stats, {
    frames: 3,
    droppedFrames: 2,
    malformedPackets: 0,
    lostPackets: 1,
    corruptFrames: 0,
  });
});

Deno.test("Vp8Depacketizer drops a frame whose first packet is not a frame start, even without a reported loss", () => {
  const p = new Packets();
  const depacketizer = new Vp8Depacketizer();
  const frames = run([
    p.packet(payload("10", key), 0, true),
    p.packet(payload("00", inter), 3000, true), // S = 0: the start is missing
    p.packet(payload("11", inter), 6000, true), // S = 1 but PID = 1: not a frame start either
    p.packet(payload("10", inter), 9000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0]);
  assert.deepEqual(depacketizer.stats.droppedFrames, 3);
  assert.deepEqual(depacketizer.waitingForKeyframe, true);
});

Deno.test("Vp8Depacketizer drops a frame that a second frame start interrupts", () => {
  const p = new Packets();
  const depacketizer = new Vp8Depacketizer();
  const frames = run([p.packet(payload("10", key), 0), p.packet(payload("10", key), 0, true)], depacketizer);
  assert.deepEqual(frames, []);
  assert.deepEqual([depacketizer.stats.malformedPackets, depacketizer.stats.droppedFrames], [1, 1]);
});

Deno.test("Vp8Depacketizer counts malformed descriptors and drops their frames", () => {
  for (const bad of ["", "90", "90 80 92", "10"]) {
    const p = new Packets();
    const depacketizer = new Vp8Depacketizer();
    const frames = run([
      p.packet(payload("10", key.subarray(0, 5)), 0),
      p.packet(bin(bad), 0),
      p.packet(payload("00", key.subarray(5)), 0, true),
      p.packet(payload("10", key), 3000, true),
    ], depacketizer);
    assert.deepEqual(frames.map((f) => f.timestamp), [3000], bad);
    assert.deepEqual([depacketizer.stats.malformedPackets, depacketizer.stats.droppedFrames], [1, 1], bad);
  }
});

Deno.test("Vp8Depacketizer drops a frame the P bit calls a key frame when its header is corrupt", () => {
  const p = new Packets();
  const depacketizer = new Vp8Depacketizer();
  const badStartCode = bin("70 24 00 9d012b 4001 f000");
  const frames = run([
    p.packet(payload("10", key), 0, true),
    p.packet(payload("10", badStartCode), 3000, true),
    p.packet(payload("10", inter), 6000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0]);
  assert.deepEqual([depacketizer.stats.corruptFrames, depacketizer.stats.droppedFrames], [1, 2]);
});

Deno.test("Vp8Depacketizer treats a resync (loss of count 0) as a discontinuity", () => {
  const p = new Packets();
  const frames = run([
    p.packet(payload("10", key), 0, true),
    p.loss(0),
    p.packet(payload("10", inter), 3000, true),
    p.packet(payload("10", key), 6000, true),
  ]);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 6000]);
});

Deno.test("Vp8Depacketizer drops a frame that grows beyond maxFrameBytes", () => {
  const p = new Packets();
  const depacketizer = new Vp8Depacketizer({ maxFrameBytes: 12 });
  const frames = run([
    p.packet(payload("10", key), 0),
    p.packet(payload("00", bin("01 02 03")), 0, true), // 15 bytes
    p.packet(payload("10", key), 3000, true), // 12 bytes
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [3000]);
  assert.deepEqual(depacketizer.stats.droppedFrames, 1);
});

/** Random frames shaped like a stream: a key frame every 10, sizes up to a few packets. */
function randomFrames(random: () => number, count: number): Frame[] {
  return Array.from({ length: count }, (_, i) => {
    const keyframe = i % 10 === 0;
    const data = randomBytes(random, randomInt(random, 11, 4000));
    if (keyframe) data.set(key.subarray(0, 10));
    else data[0] = data[0]! | 1;
    return { timestamp: 0, keyframe, data };
  });
}

Deno.test("Vp8Depacketizer reverses packetizeVp8 across sequence and timestamp wrap, despite reordering", () => {
  const random = seededRandom(7);
  const sent = randomFrames(random, 60);
  const packets: RtpPacket[] = [];
  let sequenceNumber = 65_500;
  sent.forEach((frame, i) => {
    frame.timestamp = (2 ** 32 - 30_000 + i * 3000) >>> 0;
    const payloads = packetizeVp8(frame.data, { mtu: 1200, pictureId: (32_760 + i) & 0x7fff });
    payloads.forEach((payload, n) => {
      const marker = n === payloads.length - 1;
      packets.push({
        payloadType: 96,
        sequenceNumber: sequenceNumber++ & 0xffff,
        timestamp: frame.timestamp,
        marker,
        ssrc: 1,
        payload,
      });
    });
  });
  const depacketizer = new Vp8Depacketizer();
  const received = run(throughNetwork(random, packets), depacketizer);
  assert.deepEqual(received, sent);
  assert.deepEqual(depacketizer.stats.droppedFrames + depacketizer.stats.malformedPackets, 0);
});

Deno.test("Vp8Depacketizer never throws on random packets and losses, and resumes only on key frames", () => {
  const random = seededRandom(42);
  const firstOctets = [0x10, 0x00, 0x11, 0x90, 0x80, 0xb0, 0x30];
  let emitted = 0;
  for (let run = 0; run < 300; run++) {
    const depacketizer = new Vp8Depacketizer({ maxFrameBytes: 2000 });
    let timestamp = randomInt(random, 0, 2 ** 32 - 1);
    let mustBeKeyframe = true;
    for (let i = 0; i < 200; i++) {
      let input: ReorderOutput;
      if (random() < 0.05) {
        input = { type: "loss", count: randomInt(random, 0, 3) };
      } else {
        const payload = randomBytes(random, randomInt(random, 0, 40));
        if (payload.length > 0 && random() < 0.8) {
          payload[0] = firstOctets[randomInt(random, 0, firstOctets.length - 1)]!;
        }
        if (payload.length > 11 && random() < 0.3) payload.set(key.subarray(0, 10), 1); // a plausible key frame
        if (random() < 0.3) timestamp = (timestamp + 3000) >>> 0;
        const packet = { payloadType: 96, sequenceNumber: i, timestamp, marker: random() < 0.3, ssrc: 1, payload };
        input = { type: "packet", packet, extendedSequence: i };
      }
      const frames = i === 199 ? [...depacketizer.push(input), ...depacketizer.flush()] : depacketizer.push(input);
      if (input.type === "loss") mustBeKeyframe = true;
      for (const frame of frames) {
        assert(!mustBeKeyframe || frame.keyframe, `run ${run}: a non-key frame after a loss or at the start`);
        assert(frame.data.length > 0);
        mustBeKeyframe = false;
        emitted++;
      }
    }
  }
  assert(emitted > 100, `random streams should produce some frames, got ${emitted}`);
});
