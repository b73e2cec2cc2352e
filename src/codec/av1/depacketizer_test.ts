/**
 * Hand-built packets for every aggregation header form, drop-to-keyframe on loss or corruption, random input, and
 * round trips of real libaom and SVT-AV1 streams through packetizeAv1, a reordering network and the reorder buffer.
 */

import assert from "node:assert/strict";
import { Av1Depacketizer } from "./depacketizer.ts";
import { readObu } from "./obu.ts";
import { packetizeAv1 } from "./packetizer.ts";
import { encodeIvf, ffprobe, haveFfmpeg, ivfFrames, VARIANTS } from "./testing.ts";
import type { Frame } from "../codec.ts";
import type { ReorderOutput, RtpPacket } from "../../rtp/mod.ts";
import { bin, concat, randomBytes, randomInt, seededRandom, toHex } from "../../shared/testing.ts";
import { depacketizeAll, Packets, throughNetwork } from "../test_packets.ts";

/** OBUs as RTP carries them (obu_has_size_field = 0) and as the sample carries them (obu_has_size_field = 1). */
const sh = { rtp: "08 000000043cffbcdaf90040", mp4: "0a 0b 000000043cffbcdaf90040" };
/** A frame OBU whose uncompressed header starts show_existing_frame 0, KEY_FRAME, show_frame 1. */
const key = { rtp: "30 10aabb", mp4: "32 03 10aabb" };
/** A shown INTER_FRAME. */
const inter = { rtp: "30 30cc", mp4: "32 02 30cc" };
/** A frame header OBU with show_existing_frame = 1. */
const showExisting = { rtp: "18 80", mp4: "1a 01 80" };
/** A frame OBU with an extension header (temporal_id 1, spatial_id 1), kept whole. */
const layered = { rtp: "34 28 30dd", mp4: "36 28 02 30dd" };
const metadata = { rtp: "28 0102", mp4: "2a 02 0102" };
const temporalDelimiter = "10";
const padding = "78 000000";
const tileList = "40 0102";
const redundantFrameHeader = "38 10aa";
const reserved = "48 01";

/** Aggregation header byte (AV1 RTP spec §4.4). */
function aggregation(z: number, y: number, w: number, n = 0): string {
  return toHex(Uint8Array.of((z << 7) | (y << 6) | (w << 4) | (n << 3)));
}

/** An OBU element with its leb128 length (all test elements are under 128 bytes). */
function sized(element: string): string {
  const bytes = bin(element);
  assert(bytes.length < 128);
  return toHex(Uint8Array.of(bytes.length)) + toHex(bytes);
}

function run(inputs: ReorderOutput[], depacketizer = new Av1Depacketizer()): Frame[] {
  return depacketizeAll(depacketizer, inputs);
}

function frame(timestamp: number, keyframe: boolean, ...obus: string[]): Frame {
  return { timestamp, keyframe, data: bin(obus.join(" ")) };
}

/** A keyframe temporal unit in one packet: sequence header and key frame, W = 2. */
function keyPacket(p: Packets, timestamp: number): ReorderOutput {
  return p.packet(aggregation(0, 0, 2, 1) + sized(sh.rtp) + key.rtp, timestamp, true);
}

Deno.test("Av1Depacketizer turns a W=2 packet into a keyframe sample with sized OBUs", () => {
  const p = new Packets();
  const depacketizer = new Av1Depacketizer();
  assert.deepEqual(run([keyPacket(p, 3000)], depacketizer), [frame(3000, true, sh.mp4, key.mp4)]);
  assert.deepEqual(depacketizer.stats, { frames: 1, droppedFrames: 0, malformedPackets: 0, lostPackets: 0 });
  assert.equal(depacketizer.waitingForKeyframe, false);
  assert.equal(toHex(depacketizer.lastSequenceHeader!.payload), "000000043cffbcdaf90040");
});

Deno.test("Av1Depacketizer reads W=0 (every element sized), W=1 and W=3 the same way", () => {
  const payloads = [
    aggregation(0, 0, 0) + sized(sh.rtp) + sized(key.rtp) + sized(metadata.rtp),
    aggregation(0, 0, 3) + sized(sh.rtp) + sized(key.rtp) + metadata.rtp,
  ];
  for (const payload of payloads) {
    const p = new Packets();
    assert.deepEqual(run([p.packet(payload, 0, true)]), [frame(0, true, sh.mp4, key.mp4, metadata.mp4)], payload);
  }
  const p = new Packets();
  const units = run([
    p.packet(aggregation(0, 0, 1) + sh.rtp, 0),
    p.packet(aggregation(0, 0, 1) + key.rtp, 0, true),
  ]);
  assert.deepEqual(units, [frame(0, true, sh.mp4, key.mp4)]);
});

Deno.test("Av1Depacketizer reassembles an OBU fragmented over 3 packets with Z and Y", () => {
  const p = new Packets();
  const units = run([
    p.packet(aggregation(0, 1, 2, 1) + sized(sh.rtp) + "30 10", 0), // SH, then the start of the key frame
    p.packet(aggregation(1, 1, 1) + "aa", 0), // its middle
    p.packet(aggregation(1, 0, 1) + "bb", 0, true), // its end
  ]);
  assert.deepEqual(units, [frame(0, true, sh.mp4, key.mp4)]);
});

Deno.test("Av1Depacketizer reads a fragment end and a further OBU in one W=0 packet", () => {
  const p = new Packets();
  const units = run([
    keyPacket(p, 0),
    p.packet(aggregation(0, 1, 0) + sized("30 30"), 3000),
    p.packet(aggregation(1, 0, 0) + sized("cc") + sized(metadata.rtp), 3000, true),
  ]);
  assert.deepEqual(units, [frame(0, true, sh.mp4, key.mp4), frame(3000, false, inter.mp4, metadata.mp4)]);
});

Deno.test("Av1Depacketizer leaves out temporal delimiters, tile lists, padding, redundant and reserved OBUs", () => {
  const p = new Packets();
  const obus = [temporalDelimiter, sh.rtp, key.rtp, redundantFrameHeader, tileList, padding, reserved];
  const units = run([p.packet(aggregation(0, 0, 0) + obus.map(sized).join(""), 0, true)]);
  assert.deepEqual(units, [frame(0, true, sh.mp4, key.mp4)]);
});

Deno.test("Av1Depacketizer accepts OBUs that keep obu_has_size_field and keeps extension headers", () => {
  const p = new Packets();
  const units = run([p.packet(aggregation(0, 0, 3) + sized(sh.mp4) + sized(key.mp4) + layered.rtp, 0, true)]);
  assert.deepEqual(units, [frame(0, true, sh.mp4, key.mp4, layered.mp4)]);
});

Deno.test("Av1Depacketizer completes a temporal unit when the timestamp changes without a marker", () => {
  const p = new Packets();
  const depacketizer = new Av1Depacketizer();
  assert.deepEqual(depacketizer.push(p.packet(aggregation(0, 0, 2) + sized(sh.rtp) + key.rtp, 0)), []);
  assert.deepEqual(depacketizer.push(p.packet(aggregation(0, 0, 1) + inter.rtp, 3000)), [
    frame(0, true, sh.mp4, key.mp4),
  ]);
  assert.deepEqual(depacketizer.flush(), [frame(3000, false, inter.mp4)]);
  assert.deepEqual(depacketizer.flush(), []);
});

Deno.test("Av1Depacketizer starts waiting for a keyframe and drops what comes before it", () => {
  const p = new Packets();
  const depacketizer = new Av1Depacketizer();
  assert.equal(depacketizer.waitingForKeyframe, true);
  const units = run([
    p.packet(aggregation(0, 0, 1) + inter.rtp, 0, true),
    keyPacket(p, 3000),
    p.packet(aggregation(0, 0, 1) + inter.rtp, 6000, true),
  ], depacketizer);
  assert.deepEqual(units.map((u) => [u.timestamp, u.keyframe]), [[3000, true], [6000, false]]);
  assert.deepEqual(depacketizer.stats, { frames: 2, droppedFrames: 1, malformedPackets: 0, lostPackets: 0 });
});

Deno.test("Av1Depacketizer does not count a hidden key frame or a shown existing frame as a keyframe", () => {
  const p = new Packets();
  const hiddenKey = "30 00aa"; // KEY_FRAME with show_frame = 0: a delayed random access point
  const units = run([
    p.packet(aggregation(0, 0, 2) + sized(sh.rtp) + hiddenKey, 0, true),
    p.packet(aggregation(0, 0, 2) + sized(sh.rtp) + showExisting.rtp, 3000, true),
    keyPacket(p, 6000),
    p.packet(aggregation(0, 0, 1) + showExisting.rtp, 9000, true),
  ]);
  assert.deepEqual(units, [frame(6000, true, sh.mp4, key.mp4), frame(9000, false, showExisting.mp4)]);
});

Deno.test("Av1Depacketizer drops a temporal unit with a loss inside a fragment and resumes at a keyframe", () => {
  const p = new Packets();
  const depacketizer = new Av1Depacketizer();
  const units = run([
    keyPacket(p, 0),
    p.packet(aggregation(0, 1, 1) + "30 30", 3000),
    p.loss(1),
    p.packet(aggregation(1, 0, 1) + "cc", 3000, true),
    p.packet(aggregation(0, 0, 1) + inter.rtp, 6000, true), // refers to the lost frame: dropped
    keyPacket(p, 9000),
    p.packet(aggregation(0, 0, 1) + inter.rtp, 12000, true),
  ], depacketizer);
  assert.deepEqual(units.map((u) => [u.timestamp, u.keyframe]), [[0, true], [9000, true], [12000, false]]);
  assert.deepEqual(depacketizer.stats, { frames: 3, droppedFrames: 2, malformedPackets: 0, lostPackets: 1 });
});

Deno.test("Av1Depacketizer drops a fragment without its start even when no loss was reported", () => {
  const p = new Packets();
  const depacketizer = new Av1Depacketizer();
  const units = run([
    keyPacket(p, 0),
    p.packet(aggregation(1, 1, 1) + "aa", 3000), // Z = 1, but the previous packet ended its OBU
    p.packet(aggregation(1, 0, 1) + "bb", 3000, true),
  ], depacketizer);
  assert.deepEqual(units.map((u) => u.timestamp), [0]);
  assert.equal(depacketizer.waitingForKeyframe, true);
  assert.equal(depacketizer.stats.droppedFrames, 1);
});

Deno.test("Av1Depacketizer drops a temporal unit whose fragment is interrupted or never ends", () => {
  const p = new Packets();
  const depacketizer = new Av1Depacketizer();
  const units = run([
    p.packet(aggregation(0, 1, 1) + "30 10", 0), // Y = 1 ...
    p.packet(aggregation(0, 0, 1) + sh.rtp, 0, true), // ... then Z = 0: the fragment's end never came
    p.packet(aggregation(0, 0, 1) + sh.rtp, 3000),
    p.packet(aggregation(0, 1, 1) + "30 10", 3000, true), // the marker comes with Y = 1
    keyPacket(p, 6000),
  ], depacketizer);
  assert.deepEqual(units.map((u) => u.timestamp), [6000]);
  assert.deepEqual(depacketizer.stats.droppedFrames, 2);
  assert.deepEqual(depacketizer.stats.malformedPackets, 0);
});

Deno.test("Av1Depacketizer counts malformed packets and drops their temporal units", () => {
  const cases: [string, string][] = [
    ["", "empty payload"],
    [aggregation(0, 0, 0), "aggregation header alone"],
    [aggregation(1, 0, 1, 1) + "aa", "N = 1 with Z = 1"],
    [aggregation(0, 0, 0) + "80 80 80 80 80 80 80 80 01 30", "element length over 8 bytes"],
    [aggregation(0, 0, 0) + "80 80 80 80 10", "element length of 2^32"],
    [aggregation(0, 0, 0) + "05 3010", "element length past the end"],
    [aggregation(0, 0, 2) + "09 3010", "W = 2 with the first element past the end"],
    [aggregation(0, 0, 0) + "00" + sized(inter.rtp), "zero-length element"],
    [aggregation(0, 0, 2) + sized(inter.rtp), "W = 2 with one element"],
    [aggregation(0, 0, 3) + sized(inter.rtp) + inter.rtp, "W = 3 with two elements"],
    [aggregation(0, 0, 1) + "b0 10", "OBU forbidden bit"],
    [aggregation(0, 0, 1) + "32 05 10aa", "obu_size past the element"],
    [aggregation(0, 0, 1) + "32 01 10aa", "obu_size short of the element"],
    [aggregation(0, 0, 1) + "34", "extension header cut off"],
  ];
  for (const [payload, name] of cases) {
    const p = new Packets();
    const depacketizer = new Av1Depacketizer();
    const units = run([
      p.packet(aggregation(0, 0, 1) + sh.rtp, 0),
      p.packet(payload, 0),
      p.packet(aggregation(0, 0, 1) + key.rtp, 0, true),
      keyPacket(p, 3000),
    ], depacketizer);
    assert.deepEqual(units.map((u) => u.timestamp), [3000], name);
    assert.deepEqual(depacketizer.stats.malformedPackets, 1, name);
    assert.deepEqual(depacketizer.stats.droppedFrames, 1, name);
  }
});

Deno.test("Av1Depacketizer puts the last sequence header in front of a shown key frame sent without one", () => {
  const p = new Packets();
  const depacketizer = new Av1Depacketizer();
  const units = run([
    p.packet(aggregation(0, 0, 1) + key.rtp, 0, true), // no sequence header seen yet: not decodable
    p.packet(aggregation(0, 0, 2) + sized(metadata.rtp) + sh.rtp, 3000, true), // no frame: nothing to emit
    p.packet(aggregation(0, 0, 2) + sized(metadata.rtp) + key.rtp, 6000, true),
  ], depacketizer);
  assert.deepEqual(units, [frame(6000, true, sh.mp4, metadata.mp4, key.mp4)]);
  assert.deepEqual(depacketizer.stats, { frames: 1, droppedFrames: 1, malformedPackets: 0, lostPackets: 0 });
});

Deno.test("Av1Depacketizer treats a resync (loss of count 0) as a discontinuity", () => {
  const p = new Packets();
  const units = run([
    keyPacket(p, 0),
    p.loss(0),
    p.packet(aggregation(0, 0, 1) + inter.rtp, 3000, true),
    keyPacket(p, 6000),
  ]);
  assert.deepEqual(units.map((u) => u.timestamp), [0, 6000]);
});

Deno.test("Av1Depacketizer drops a temporal unit that grows beyond maxTemporalUnitBytes", () => {
  const p = new Packets();
  const depacketizer = new Av1Depacketizer({ maxTemporalUnitBytes: 20 }); // a keyframe packet's sample is 18 bytes
  const big = "3010" + "aa".repeat(40);
  const units = run([
    p.packet(aggregation(0, 1, 2) + sized(sh.rtp) + big.slice(0, 40), 0),
    p.packet(aggregation(1, 0, 1) + big.slice(40), 0, true),
    p.packet(aggregation(0, 0, 0) + [sh.rtp, key.rtp, key.rtp].map(sized).join(""), 3000, true), // 13 + 5 + 5
    keyPacket(p, 6000),
  ], depacketizer);
  assert.deepEqual(units.map((u) => u.timestamp), [6000]);
  assert.equal(depacketizer.stats.droppedFrames, 2);
});

Deno.test("Av1Depacketizer never throws on random packets and losses, and resumes only on keyframes", () => {
  const random = seededRandom(7);
  const starts = [0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x60, 0x70, 0x80, 0xc0];
  const obuHeaders = [0x08, 0x0a, 0x10, 0x18, 0x30, 0x32, 0x34, 0x28, 0x78, 0x40];
  let emitted = 0;
  for (let run = 0; run < 300; run++) {
    const depacketizer = new Av1Depacketizer({ maxTemporalUnitBytes: 2000 });
    let timestamp = randomInt(random, 0, 2 ** 32 - 1);
    let mustBeKeyframe = true;
    for (let i = 0; i < 200; i++) {
      let input: ReorderOutput;
      if (random() < 0.05) {
        input = { type: "loss", count: randomInt(random, 0, 3) };
      } else {
        const payload = randomBytes(random, randomInt(random, 0, 40));
        if (payload.length > 0 && random() < 0.9) payload[0] = starts[randomInt(random, 0, starts.length - 1)]!;
        // Mostly well-framed: a short first element holding a plausible OBU header and a key frame's first bits.
        if (payload.length > 4 && random() < 0.7) {
          payload[1] = randomInt(random, 1, payload.length - 2);
          payload[2] = obuHeaders[randomInt(random, 0, obuHeaders.length - 1)]!;
          if (random() < 0.5) payload[3] = 0x10;
        }
        if (random() < 0.3) timestamp = (timestamp + 3000) >>> 0;
        const packet = { payloadType: 45, sequenceNumber: i, timestamp, marker: random() < 0.3, ssrc: 1, payload };
        input = { type: "packet", packet, extendedSequence: i };
      }
      const units = i === 199 ? [...depacketizer.push(input), ...depacketizer.flush()] : depacketizer.push(input);
      if (input.type === "loss") mustBeKeyframe = true;
      for (const unit of units) {
        assert(!mustBeKeyframe || unit.keyframe, `run ${run}: a non-keyframe after a loss or at the start`);
        assert(unit.data.length > 0);
        mustBeKeyframe = false;
        emitted++;
      }
    }
  }
  assert(emitted > 50, `random streams should produce some temporal units, got ${emitted}`);
});

/** The temporal unit's own bytes without its temporal delimiters: what the depacketizer must give back. */
function withoutTemporalDelimiters(temporalUnit: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  while (offset < temporalUnit.length) {
    const read = readObu(temporalUnit, offset);
    if (typeof read === "string") throw new Error(read);
    if (read.obu.type !== 2) parts.push(temporalUnit.subarray(offset, read.end));
    offset = read.end;
  }
  return concat(parts);
}

Deno.test("Av1Depacketizer gives back libaom and SVT-AV1 temporal units sent through packetizeAv1", async (t) => {
  if (!await haveFfmpeg(t.name)) return;
  const dir = await Deno.makeTempDir({ prefix: "liverec-av1-rtp-" });
  try {
    for (const [i, variant] of VARIANTS.entries()) {
      const ivfPath = await encodeIvf(dir, variant, i);
      const temporalUnits = ivfFrames(await Deno.readFile(ivfPath));
      const { keyframes } = await ffprobe(ivfPath);
      assert.equal(keyframes.length, temporalUnits.length, `${variant.name}: one decoded frame per temporal unit`);
      const random = seededRandom(1000 + i);
      for (const options of [{ mtu: 1200 }, { mtu: 1200, omitLastLength: false }, { mtu: 150 }]) {
        const name = `${variant.name}, ${JSON.stringify(options)}`;
        const packets: RtpPacket[] = [];
        let sequenceNumber = 65_000;
        temporalUnits.forEach((temporalUnit, index) => {
          const timestamp = (2 ** 32 - 45_000 + index * 3000) >>> 0;
          const payloads = packetizeAv1(temporalUnit, options);
          for (const [p, payload] of payloads.entries()) {
            assert(payload.length <= options.mtu, name);
            const marker = p === payloads.length - 1;
            const packet = { payloadType: 45, sequenceNumber: sequenceNumber++ & 0xffff, timestamp, marker, ssrc: 1 };
            packets.push({ ...packet, payload });
          }
        });
        const depacketizer = new Av1Depacketizer();
        const received = run(throughNetwork(random, packets), depacketizer);
        assert.deepEqual(depacketizer.stats.droppedFrames + depacketizer.stats.malformedPackets, 0, name);
        assert.equal(received.length, temporalUnits.length, name);
        received.forEach((frame, index) => {
          assert.equal(frame.timestamp, (2 ** 32 - 45_000 + index * 3000) >>> 0, name);
          assert.equal(frame.keyframe, keyframes[index], `${name}: keyframe flag of temporal unit ${index}`);
          assert.equal(toHex(frame.data), toHex(withoutTemporalDelimiters(temporalUnits[index]!)), `${name}: ${index}`);
        });
        assert(received.filter((frame) => frame.keyframe).length >= 1, name);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
