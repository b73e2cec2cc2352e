/**
 * Hand-built RFC 9628 packets in flexible and non-flexible mode, spatial layers joined into superframes, impossible
 * superframes and broken frames dropped to the next key frame, a packetizer round trip and random input.
 */

import assert from "node:assert/strict";
import type { Frame } from "../codec.ts";
import type { ReorderOutput, RtpPacket } from "../../rtp/mod.ts";
import { bin, concat, randomBytes, randomInt, seededRandom, toHex } from "../../shared/testing.ts";
import { depacketizeAll, Packets, throughNetwork } from "../test_packets.ts";
import { Vp9Depacketizer } from "./depacketizer.ts";
import { writeVp9Descriptor } from "./descriptor.ts";
import { packetizeVp9 } from "./packetizer.ts";
import { buildVp9Superframe } from "./superframe.ts";
import { interFrame, keyFrame, showExistingFrame } from "./test_helpers.ts";

const key = keyFrame();
const inter = interFrame({ foundRef: 0 });

function run(inputs: ReorderOutput[], depacketizer = new Vp9Depacketizer()): Frame[] {
  return depacketizeAll(depacketizer, inputs);
}

/** A payload: descriptor hex followed by VP9 data. */
function payload(descriptor: string, data: Uint8Array): Uint8Array {
  return concat([bin(descriptor), data]);
}

Deno.test("Vp9Depacketizer emits a non-flexible one-packet key frame with its scalability structure skipped", () => {
  const p = new Packets();
  // I (7-bit), L + TL0PICIDX, B, E, V: one layer of 320x240, no picture group.
  const frames = run([p.packet(payload("ae 05 00 00 10 0140 00f0", key), 9000, true)]);
  assert.deepEqual(frames, [{ timestamp: 9000, keyframe: true, data: key }]);
});

Deno.test("Vp9Depacketizer joins a frame split over 3 packets, B on the first and E on the last", () => {
  const p = new Packets();
  const frames = run([
    p.packet(payload("a8 05 00 00", key.subarray(0, 4)), 0),
    p.packet(payload("a0 05 00 00", key.subarray(4, 8)), 0),
    p.packet(payload("a4 05 00 00", key.subarray(8)), 0, true),
    p.packet(payload("ec 06 00 00", inter), 3000, true), // P = 1
  ]);
  assert.deepEqual(frames, [
    { timestamp: 0, keyframe: true, data: key },
    { timestamp: 3000, keyframe: false, data: inter },
  ]);
});

Deno.test("Vp9Depacketizer joins flexible-mode spatial layers of one timestamp into a superframe, lowest first", () => {
  const p = new Packets();
  const base = keyFrame({ widthPx: 160, heightPx: 120 });
  const top = interFrame({ refs: [0, 0, 0], refresh: 0x02, widthPx: 320, heightPx: 240 }); // inter-layer only
  const baseNext = interFrame({ foundRef: 0 });
  const topNext = interFrame({ refs: [1, 0, 0], foundRef: 0, refresh: 0x02 });
  const depacketizer = new Vp9Depacketizer();
  const frames = run([
    // I (15-bit), L (no TL0PICIDX in flexible mode), F, B, E; SID 0, then SID 1 with D.
    p.packet(payload("bc 8001 00", base), 0),
    p.packet(payload("bc 8001 03", top), 0, true),
    // The next picture predicts from the previous one: P with one P_DIFF each.
    p.packet(payload("fc 8002 00 02", baseNext), 3000),
    p.packet(payload("fd 8002 03 02", topNext), 3000, true),
  ], depacketizer);
  assert.deepEqual(frames, [
    { timestamp: 0, keyframe: true, data: buildVp9Superframe([base, top]) },
    { timestamp: 3000, keyframe: false, data: buildVp9Superframe([baseNext, topNext]) },
  ]);
  assert.deepEqual(depacketizer.stats.frames, 2);
});

Deno.test("Vp9Depacketizer leaves an encoder superframe that came as one frame unchanged, and flattens it among layers", () => {
  const hiddenAndShown = buildVp9Superframe([interFrame({ showFrame: false, refresh: 0x04 }), inter]);
  const p = new Packets();
  const frames = run([
    p.packet(payload("0c", key), 0, true),
    p.packet(payload("4c", hiddenAndShown), 3000, true),
    p.packet(payload("4c", hiddenAndShown), 6000), // a second spatial layer after it
    p.packet(payload("4c", inter), 6000, true),
  ]);
  assert.deepEqual(frames.map((f) => toHex(f.data)), [
    toHex(key),
    toHex(hiddenAndShown),
    toHex(buildVp9Superframe([interFrame({ showFrame: false, refresh: 0x04 }), inter, inter])),
  ]);
});

Deno.test("Vp9Depacketizer counts and drops an impossible superframe without throwing", () => {
  const p = new Packets();
  const depacketizer = new Vp9Depacketizer();
  const sizesPastTheData = concat([inter, bin("c1 ff 05 c1")]);
  const noFrameData = bin("c0 05 c0");
  const frames = run([
    p.packet(payload("0c", key), 0, true),
    p.packet(payload("4c", sizesPastTheData), 3000, true),
    p.packet(payload("4c", inter), 6000, true), // decodable only with the dropped picture
    p.packet(payload("0c", noFrameData), 9000, true),
    p.packet(payload("0c", key), 12000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 12000]);
  assert.deepEqual(depacketizer.stats, {
    frames: 2,
    droppedFrames: 3,
    malformedPackets: 0,
    lostPackets: 0,
    corruptFrames: 2,
  });
});

Deno.test("Vp9Depacketizer drops a picture of more frames than one superframe index holds", () => {
  const p = new Packets();
  const depacketizer = new Vp9Depacketizer();
  const layers = Array.from({ length: 9 }, (_, i) => p.packet(payload("0c", key), 0, i === 8));
  assert.deepEqual(run(layers, depacketizer), []);
  assert.deepEqual(depacketizer.stats.corruptFrames, 1);
});

Deno.test("Vp9Depacketizer drops a picture whose first frame header does not parse", () => {
  const p = new Packets();
  const depacketizer = new Vp9Depacketizer();
  assert.deepEqual(run([p.packet(payload("0c", bin("40 00 00")), 0, true)], depacketizer), []);
  assert.deepEqual([depacketizer.stats.corruptFrames, depacketizer.waitingForKeyframe], [1, true]);
});

Deno.test("Vp9Depacketizer drops a picture with a loss inside and every picture up to the next key frame", () => {
  const p = new Packets();
  const depacketizer = new Vp9Depacketizer();
  const frames = run([
    p.packet(payload("0c", key), 0, true),
    p.packet(payload("48", inter.subarray(0, 3)), 3000),
    p.loss(2),
    p.packet(payload("44", inter.subarray(3)), 3000, true),
    p.packet(payload("4c", inter), 6000, true),
    p.packet(payload("0c", key), 9000, true),
    p.packet(payload("4c", inter), 12000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 9000, 12000]);
  assert.deepEqual([depacketizer.stats.droppedFrames, depacketizer.stats.lostPackets], [2, 2]);
});

Deno.test("Vp9Depacketizer drops frames missing their start or end even when no loss is reported", () => {
  const cases: [string, ReorderOutput[]][] = [];
  let p = new Packets();
  cases.push(["no B", [p.packet(payload("04", key), 0, true)]]);
  p = new Packets();
  cases.push(["B twice", [p.packet(payload("08", key), 0), p.packet(payload("0c", key), 0, true)]]);
  p = new Packets();
  cases.push(["no E before the marker", [p.packet(payload("08", key), 0, true)]]);
  p = new Packets();
  cases.push(["no E before the timestamp changes", [
    p.packet(payload("08", key), 0),
    p.packet(payload("0c", key), 3000),
  ]]);
  for (const [name, inputs] of cases) {
    const depacketizer = new Vp9Depacketizer();
    const frames = run(inputs, depacketizer);
    assert.deepEqual(frames.filter((f) => f.timestamp === 0), [], name);
    assert.deepEqual(depacketizer.stats.droppedFrames, 1, name);
  }
});

Deno.test("Vp9Depacketizer ends a picture when the timestamp changes without a marker", () => {
  const p = new Packets();
  const depacketizer = new Vp9Depacketizer();
  assert.deepEqual(depacketizer.push(p.packet(payload("0c", key), 0)), []);
  assert.deepEqual(depacketizer.push(p.packet(payload("4c", inter), 3000)), [{
    timestamp: 0,
    keyframe: true,
    data: key,
  }]);
  assert.deepEqual(depacketizer.flush(), [{ timestamp: 3000, keyframe: false, data: inter }]);
  assert.deepEqual(depacketizer.flush(), []);
});

Deno.test("Vp9Depacketizer waits for a key frame; show-existing and intra-only pictures do not end the wait", () => {
  const p = new Packets();
  const depacketizer = new Vp9Depacketizer();
  const frames = run([
    p.packet(payload("4c", inter), 0, true),
    p.packet(payload("4c", showExistingFrame(0)), 3000, true),
    p.packet(payload("0c", key), 6000, true),
    p.packet(payload("4c", showExistingFrame(0)), 9000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => [f.timestamp, f.keyframe]), [[6000, true], [9000, false]]);
  assert.deepEqual(depacketizer.stats.droppedFrames, 2);
});

Deno.test("Vp9Depacketizer counts malformed descriptors and drops their pictures", () => {
  for (const bad of ["", "80", "d0 01 03 03 03 03 aa", "0c"]) {
    const p = new Packets();
    const depacketizer = new Vp9Depacketizer();
    const frames = run([
      p.packet(payload("08", key.subarray(0, 5)), 0),
      p.packet(bin(bad), 0),
      p.packet(payload("04", key.subarray(5)), 0, true),
      p.packet(payload("0c", key), 3000, true),
    ], depacketizer);
    assert.deepEqual(frames.map((f) => f.timestamp), [3000], bad);
    assert.deepEqual([depacketizer.stats.malformedPackets, depacketizer.stats.droppedFrames], [1, 1], bad);
  }
});

Deno.test("Vp9Depacketizer drops a picture that grows beyond maxFrameBytes", () => {
  const p = new Packets();
  const depacketizer = new Vp9Depacketizer({ maxFrameBytes: key.length + 2 });
  const frames = run([
    p.packet(payload("0c", key), 0),
    p.packet(payload("0c", key), 0, true),
    p.packet(payload("0c", key), 3000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [3000]);
});

/** Random pictures: a key picture every 10, 1 to 3 spatial layers of random sizes. */
function randomPictures(random: () => number, count: number): { timestamp: number; layers: Uint8Array[] }[] {
  return Array.from({ length: count }, (_, i) => ({
    timestamp: 0,
    layers: Array.from({ length: randomInt(random, 1, 3) }, (_, layer) => {
      const head = i % 10 === 0 && layer === 0 ? keyFrame() : interFrame({ foundRef: 0 });
      return concat([head, randomBytes(random, randomInt(random, 0, 3000)), bin("00")]); // never ends in a marker
    }),
  }));
}

for (const flexible of [false, true]) {
  Deno.test(`Vp9Depacketizer reverses packetizeVp9 in ${flexible ? "" : "non-"}flexible mode across wrap`, () => {
    const random = seededRandom(flexible ? 11 : 12);
    const sent = randomPictures(random, 60);
    const packets: RtpPacket[] = [];
    let sequenceNumber = 65_500;
    sent.forEach((picture, i) => {
      picture.timestamp = (2 ** 32 - 30_000 + i * 3000) >>> 0;
      picture.layers.forEach((layer, spatialId) => {
        const payloads = packetizeVp9(layer, {
          mtu: 1200,
          descriptor: {
            interPicturePredicted: i % 10 !== 0,
            flexible,
            notReferenceForUpperLayers: false,
            pictureId: (32_700 + i) & 0x7fff,
            layer: {
              temporalId: 0,
              switchingUpPoint: false,
              spatialId,
              interLayerDependency: spatialId > 0,
              tl0PicIdx: i & 0xff,
            },
            ...(flexible && i % 10 !== 0 ? { referenceDiffs: [1] } : {}),
            ...(i % 10 === 0 && spatialId === 0 ? { scalability: { spatialLayers: picture.layers.length } } : {}),
          },
        });
        payloads.forEach((payload, n) => {
          const marker = spatialId === picture.layers.length - 1 && n === payloads.length - 1;
          packets.push({
            payloadType: 98,
            sequenceNumber: sequenceNumber++ & 0xffff,
            timestamp: picture.timestamp,
            marker,
            ssrc: 1,
            payload,
          });
        });
      });
    });
    const depacketizer = new Vp9Depacketizer();
    const received = run(throughNetwork(random, packets), depacketizer);
    assert.deepEqual(
      received,
      sent.map(({ timestamp, layers }, i) => ({
        timestamp,
        keyframe: i % 10 === 0,
        data: layers.length === 1 ? layers[0]! : buildVp9Superframe(layers),
      })),
    );
    assert.deepEqual(depacketizer.stats.droppedFrames + depacketizer.stats.malformedPackets, 0);
  });
}

Deno.test("Vp9Depacketizer never throws on random packets and losses, and resumes only on key frames", () => {
  const random = seededRandom(42);
  const firstOctets = [0x0c, 0x08, 0x04, 0x00, 0x4c, 0xbc, 0xfc, 0xae, 0x0e, 0x02, 0xd0];
  const bodies = [key, inter, buildVp9Superframe([key, inter]), bin("c1 ff 05 c1"), showExistingFrame(1)];
  let emitted = 0;
  for (let run = 0; run < 300; run++) {
    const depacketizer = new Vp9Depacketizer({ maxFrameBytes: 2000 });
    let timestamp = randomInt(random, 0, 2 ** 32 - 1);
    let mustBeKeyframe = true;
    for (let i = 0; i < 200; i++) {
      let input: ReorderOutput;
      if (random() < 0.05) {
        input = { type: "loss", count: randomInt(random, 0, 3) };
      } else {
        let payload = randomBytes(random, randomInt(random, 0, 40));
        if (random() < 0.5) {
          const descriptor = writeVp9Descriptor({
            interPicturePredicted: random() < 0.5,
            flexible: false,
            beginsFrame: random() < 0.7,
            endsFrame: random() < 0.7,
            notReferenceForUpperLayers: false,
          });
          payload = concat([descriptor, bodies[randomInt(random, 0, bodies.length - 1)]!]);
        } else if (payload.length > 0 && random() < 0.8) {
          payload[0] = firstOctets[randomInt(random, 0, firstOctets.length - 1)]!;
        }
        if (random() < 0.3) timestamp = (timestamp + 3000) >>> 0;
        const packet = { payloadType: 98, sequenceNumber: i, timestamp, marker: random() < 0.4, ssrc: 1, payload };
        input = { type: "packet", packet, extendedSequence: i };
      }
      const frames = i === 199 ? [...depacketizer.push(input), ...depacketizer.flush()] : depacketizer.push(input);
      if (input.type === "loss") mustBeKeyframe = true;
      for (const frame of frames) {
        assert(!mustBeKeyframe || frame.keyframe, `run ${run}: a non-key picture after a loss or at the start`);
        assert(frame.data.length > 0);
        mustBeKeyframe = false;
        emitted++;
      }
    }
  }
  assert(emitted > 100, `random streams should produce some pictures, got ${emitted}`);
});
