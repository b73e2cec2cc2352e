/** Hand-built packets per RFC 7798 payload structure, drop-to-keyframe on loss or corruption, random input. */

import assert from "node:assert/strict";
import type { Frame } from "../codec.ts";
import { H265Depacketizer } from "./depacketizer.ts";
import { splitLengthPrefixed, toLengthPrefixed } from "../nal_units.ts";
import { packetizeH265 } from "./packetizer.ts";
import { ReorderBuffer, type ReorderOutput, type RtpPacket } from "../../rtp/mod.ts";
import { bin, randomBytes, randomInt, seededRandom } from "../../shared/testing.ts";
import { depacketizeAll, Packets } from "../test_packets.ts";

// NAL unit headers: (type << 1) then LayerId 0 and TID 1, i.e. "tt01".
const vps = bin("4001 0c01");
const sps = bin("4201 0101");
const pps = bin("4401 c172");
/** Parameter sets of another configuration. */
const newVps = bin("4001 0c02");
const newSps = bin("4201 0102");
const newPps = bin("4401 c173");
const aud = bin("4601 50");
const filler = bin("4c01 ffff");
const prefixSei = bin("4e01 0501");
const endOfSequence = bin("4801");
/** IDR_W_RADL slice with first_slice_segment_in_pic_flag = 1. */
const idr = bin("2601 af 10");
/** Second slice segment of an IDR picture (first_slice_segment_in_pic_flag = 0). */
const idrSecondSlice = bin("2601 2f 11");
const cra = bin("2a01 a0 12");
const bla = bin("2001 a0 13");
const trail = bin("0201 d0 14");
const rasl = bin("1001 c0 15");

function run(inputs: ReorderOutput[], depacketizer = new H265Depacketizer()): Frame[] {
  return depacketizeAll(depacketizer, inputs);
}

function frame(timestamp: number, keyframe: boolean, nalUnits: Uint8Array[]): Frame {
  return { timestamp, keyframe, data: toLengthPrefixed(nalUnits) };
}

/** An AP payload (RFC 7798 §4.4.2) holding `nalUnits`. */
function ap(...nalUnits: Uint8Array[]): Uint8Array {
  const parts = nalUnits.flatMap((nal) => [new Uint8Array([nal.length >> 8, nal.length & 0xff]), nal]);
  return new Uint8Array([0x60, 0x01, ...parts.flatMap((part) => [...part])]);
}

Deno.test("H265Depacketizer emits a single NAL unit packet with the marker as a length-prefixed frame", () => {
  const p = new Packets();
  assert.deepEqual(run([p.packet(idr, 3000, true)]), [frame(3000, true, [idr])]);
});

Deno.test("H265Depacketizer unpacks an aggregation packet holding VPS, SPS, PPS and an IDR slice", () => {
  const p = new Packets();
  const payload = "6001" + "0004 40010c01" + "0004 42010101" + "0004 4401c172" + "0004 2601af10";
  assert.deepEqual(run([p.packet(payload, 0, true)]), [frame(0, true, [vps, sps, pps, idr])]);
});

Deno.test("H265Depacketizer reassembles an FU split over start, middle and end packets", () => {
  const p = new Packets();
  // Payload header 62 01 (type 49, TID 1); FU headers 93/13/53: S, -, E with FuType 19 (IDR_W_RADL).
  const frames = run([p.packet("6201 93 af 10", 90), p.packet("6201 13 20 21", 90), p.packet("6201 53 22", 90, true)]);
  assert.deepEqual(frames, [frame(90, true, [bin("2601 af 10 20 21 22")])]);
});

Deno.test("H265Depacketizer rebuilds the NAL unit header from the FU's LayerId and TID", () => {
  const p = new Packets();
  // TID 3 in the payload header; FuType 1 (TRAIL_R) after a keyframe.
  const frames = run([p.packet(idr, 0, true), p.packet("6203 81 d0", 3000), p.packet("6203 41 99", 3000, true)]);
  assert.deepEqual(frames[1], frame(3000, false, [bin("0203 d0 99")]));
});

Deno.test("H265Depacketizer completes a frame when the timestamp changes without a marker", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  assert.deepEqual(depacketizer.push(p.packet(idr, 0)), []);
  assert.deepEqual(depacketizer.push(p.packet(trail, 3000)), [frame(0, true, [idr])]);
  assert.deepEqual(depacketizer.flush(), [frame(3000, false, [trail])]);
});

Deno.test("H265Depacketizer waits for an IRAP picture and drops what comes before it", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  assert.equal(depacketizer.waitingForKeyframe, true);
  const frames = run([p.packet(trail, 0, true), p.packet(cra, 3000, true), p.packet(trail, 6000, true)], depacketizer);
  assert.deepEqual(frames.map((f) => [f.timestamp, f.keyframe]), [[3000, true], [6000, false]]);
  assert.equal(depacketizer.waitingForKeyframe, false);
  assert.deepEqual(depacketizer.stats, {
    frames: 2,
    droppedFrames: 1,
    malformedPackets: 0,
    lostPackets: 0,
    ignoredPackets: 0,
  });
});

Deno.test("H265Depacketizer treats BLA, IDR and CRA as keyframes", () => {
  for (const irap of [bla, idr, cra]) {
    const p = new Packets();
    assert.deepEqual(run([p.packet(irap, 0, true)]).map((f) => f.keyframe), [true]);
  }
});

Deno.test("H265Depacketizer adds parameter sets sent apart before a keyframe's slices, drops AUD and filler", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  const frames = run([
    p.packet(ap(vps, sps, pps), 0, true), // parameter sets alone: remembered, not a frame
    p.packet(aud, 3000),
    p.packet(prefixSei, 3000),
    p.packet(idr, 3000),
    p.packet(filler, 3000),
    p.packet(idrSecondSlice, 3000, true),
  ], depacketizer);
  assert.deepEqual(frames, [frame(3000, true, [prefixSei, vps, sps, pps, idr, idrSecondSlice])]);
  assert.equal(depacketizer.stats.droppedFrames, 0);
});

Deno.test("H265Depacketizer leaves a keyframe that carries its own parameter sets unchanged", () => {
  const p = new Packets();
  const frames = run([p.packet(ap(vps, sps, pps), 0, true), p.packet(ap(newVps, newSps, newPps, idr), 3000, true)]);
  assert.deepEqual(frames, [frame(3000, true, [newVps, newSps, newPps, idr])]);
});

Deno.test("H265Depacketizer fills in only the parameter sets a keyframe lacks, keeping VPS, SPS, PPS order", () => {
  const p = new Packets();
  const frames = run([
    p.packet(ap(vps, sps, pps), 0, true),
    p.packet(ap(newSps, idr), 3000, true), // SPS only: the VPS goes before it, the PPS after it
    p.packet(ap(newPps, cra), 6000, true), // PPS only: the latest VPS and SPS (newSps) go before it
    p.packet(trail, 9000, true), // not a keyframe: nothing added
  ]);
  assert.deepEqual(frames, [
    frame(3000, true, [vps, newSps, pps, idr]),
    frame(6000, true, [vps, newSps, newPps, cra]),
    frame(9000, false, [trail]),
  ]);
});

Deno.test("H265Depacketizer emits a keyframe without parameter sets when none were ever seen", () => {
  const p = new Packets();
  assert.deepEqual(run([p.packet(idr, 0, true)]), [frame(0, true, [idr])]);
});

Deno.test("H265Depacketizer drops a frame with a loss inside an FU and waits for the next IRAP", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  const frames = run([
    p.packet(idr, 0, true),
    p.packet("6201 81 d0 01", 3000),
    p.loss(1), // the FU middle
    p.packet("6201 41 03", 3000, true),
    p.packet(trail, 6000, true), // decodable only with the lost frame: dropped
    p.packet(cra, 9000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 9000]);
  assert.deepEqual(depacketizer.stats, {
    frames: 2,
    droppedFrames: 2,
    malformedPackets: 0,
    lostPackets: 1,
    ignoredPackets: 0,
  });
  assert.equal(depacketizer.waitingForKeyframe, false);
});

Deno.test("H265Depacketizer drops an FU without its start even when no loss was reported", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  const frames = run([
    p.packet(idr, 0, true),
    p.packet("6201 01 d0 01", 3000), // middle, no start
    p.packet("6201 41 02", 3000, true),
    p.packet(trail, 6000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0]);
  assert.equal(depacketizer.waitingForKeyframe, true);
  assert.equal(depacketizer.stats.malformedPackets, 0);
});

Deno.test("H265Depacketizer drops a frame whose FU is interrupted or never ends", () => {
  for (
    const payloads of [
      ["6201 81 d0", trail], // a single NAL unit packet before the FU's end
      ["6201 81 d0", "6201 93 af"], // a new FU start before the end
      ["6201 81 d0", "6201 53 01"], // an end of another FuType
      ["6201 81 d0"], // the marker comes before the end
    ]
  ) {
    const p = new Packets();
    const depacketizer = new H265Depacketizer();
    const inputs = [
      p.packet(idr, 0, true),
      ...payloads.map((payload, i) => p.packet(payload, 3000, i === payloads.length - 1)),
    ];
    assert.deepEqual(run(inputs, depacketizer).map((f) => f.timestamp), [0], `payloads ${payloads}`);
    assert.equal(depacketizer.stats.droppedFrames, 1);
  }
});

Deno.test("H265Depacketizer counts malformed packets and drops their frames", () => {
  const malformed = [
    "", // empty
    "26", // a 1-byte header
    "a601 af", // F bit set
    "2600 af", // TID 0
    "6001 0004 2601", // AP size past the end
    "6001 0003 2601af 00", // AP with a dangling size byte
    "6001 0003 6201af", // AP holding an FU
    "6001 0003 a601af", // AP unit with F set
    "6001", // AP without units
    "6201 d3 af", // FU with S and E
    "6201 b0 af", // FU of type 48
    "6201", // FU without its header
  ];
  for (const payload of malformed) {
    const p = new Packets();
    const depacketizer = new H265Depacketizer();
    const frames = run([p.packet(idr, 0, true), p.packet(payload, 3000), p.packet(trail, 3000, true)], depacketizer);
    assert.deepEqual(frames.map((f) => f.timestamp), [0], `payload ${payload}`);
    assert.equal(depacketizer.stats.malformedPackets, 1, `payload ${payload}`);
    assert.equal(depacketizer.waitingForKeyframe, true);
  }
});

Deno.test("H265Depacketizer accepts an AP with a single unit and an empty FU middle", () => {
  const p = new Packets();
  const frames = run([
    p.packet(ap(idr), 0, true),
    p.packet("6201 81 d0", 3000),
    p.packet("6201 01", 3000),
    p.packet("6201 41 09", 3000, true),
  ]);
  assert.deepEqual(frames, [frame(0, true, [idr]), frame(3000, false, [bin("0201 d0 09")])]);
});

Deno.test("H265Depacketizer counts PACI packets as ignored and drops their frame, which it cannot rebuild", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  const frames = run(
    [p.packet(idr, 0, true), p.packet("6401 0200 2601af", 3000, true), p.packet(cra, 6000, true)],
    depacketizer,
  );
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 6000]);
  assert.equal(depacketizer.stats.ignoredPackets, 1);
  assert.equal(depacketizer.stats.droppedFrames, 1);
});

Deno.test("H265Depacketizer skips payload types 51..63 and keeps the frame", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  const frames = run([p.packet(idr, 0), p.packet("6601 00", 0), p.packet("7e01 00", 0, true)], depacketizer);
  assert.deepEqual(frames, [frame(0, true, [idr])]);
  assert.equal(depacketizer.stats.ignoredPackets, 2);
});

Deno.test("H265Depacketizer drops a keyframe whose first slice segment was lost before it", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  const frames = run([
    p.packet(idr, 0, true),
    p.loss(1), // the first slice segment of the next IDR picture
    p.packet(idrSecondSlice, 3000, true),
    p.packet(idr, 6000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 6000]);
  assert.equal(depacketizer.stats.droppedFrames, 1);
});

Deno.test("H265Depacketizer treats a resync (loss of count 0) as a discontinuity", () => {
  const p = new Packets();
  const frames = run([p.packet(idr, 0, true), p.loss(0), p.packet(trail, 3000, true), p.packet(idr, 6000, true)]);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 6000]);
});

Deno.test("H265Depacketizer drops RASL pictures of a CRA where decoding starts, keeps them mid-stream", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  const frames = run([
    p.packet(cra, 0, true), // decoding starts here: its RASL pictures reference pictures never received
    p.packet(rasl, 3000, true),
    p.packet(trail, 6000, true),
    p.packet(cra, 9000, true), // mid-stream: its RASL pictures decode
    p.packet(rasl, 12000, true),
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 6000, 9000, 12000]);
  assert.equal(depacketizer.stats.droppedFrames, 1);
  assert.equal(depacketizer.waitingForKeyframe, false);
});

Deno.test("H265Depacketizer drops RASL pictures after a BLA and after an end of sequence", () => {
  const p = new Packets();
  const frames = run([
    p.packet(idr, 0, true),
    p.packet(bla, 3000, true),
    p.packet(rasl, 6000, true), // dropped: BLA
    p.packet(ap(trail, endOfSequence), 9000, true),
    p.packet(cra, 12000, true), // starts a new coded video sequence
    p.packet(rasl, 15000, true), // dropped
    p.packet(trail, 18000, true),
  ]);
  assert.deepEqual(frames.map((f) => f.timestamp), [0, 3000, 9000, 12000, 18000]);
  assert.deepEqual(splitLengthPrefixed(frames[2]!.data), [trail, endOfSequence]);
});

Deno.test("H265Depacketizer does not emit or count an access unit of parameter sets and SEI only", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  assert.deepEqual(run([p.packet(ap(vps, sps, pps, prefixSei), 0, true)], depacketizer), []);
  assert.equal(depacketizer.stats.droppedFrames, 0);
});

Deno.test("H265Depacketizer flush emits an intact pending frame and drops an unfinished one", () => {
  const p = new Packets();
  const depacketizer = new H265Depacketizer();
  depacketizer.push(p.packet(idr, 0));
  assert.deepEqual(depacketizer.flush(), [frame(0, true, [idr])]);
  depacketizer.push(p.packet("6201 81 d0", 3000));
  assert.deepEqual(depacketizer.flush(), []);
  assert.deepEqual(depacketizer.flush(), []);
  assert.equal(depacketizer.stats.droppedFrames, 1);
});

Deno.test("H265Depacketizer drops a frame that grows beyond maxFrameBytes, in pieces or in one FU", () => {
  const big = new Uint8Array(600).fill(0x55);
  big.set(idr.subarray(0, 3));
  const p = new Packets();
  const depacketizer = new H265Depacketizer({ maxFrameBytes: 1000 });
  const frames = run([
    p.packet(big, 0),
    p.packet(big, 0, true), // 2 × 604 sample bytes: too big
    ...packetizeH265([new Uint8Array(1200).fill(0x55).fill(0x26, 0, 1).fill(0x01, 1, 2)], { maxPayloadBytes: 500 })
      .map((payload, i, all) => p.packet(payload, 3000, i === all.length - 1)),
    p.packet(big, 6000, true), // fits
  ], depacketizer);
  assert.deepEqual(frames.map((f) => f.timestamp), [6000]);
  assert.equal(depacketizer.stats.droppedFrames, 2);
});

Deno.test("H265Depacketizer never throws on random packets, losses and reordering; resumes only on keyframes", () => {
  const random = seededRandom(7798);
  const headers = [0x60, 0x62, 0x64, 0x66, 0x26, 0x2a, 0x02, 0x10, 0x40, 0x42, 0x44, 0x46, 0x48, 0xa6, 0x00, 0x7e];
  const vclHeaders = [0x26, 0x2a, 0x20, 0x02, 0x00, 0x10];
  let emitted = 0;
  for (let round = 0; round < 200; round++) {
    // A stream of packetized random access units, with random payloads mixed in.
    const sent: RtpPacket[] = [];
    let timestamp = randomInt(random, 0, 2 ** 32 - 1);
    let sequenceNumber = randomInt(random, 0, 0xffff);
    for (let unit = 0; unit < 30; unit++) {
      timestamp = (timestamp + 3000) >>> 0;
      const nalUnits = Array.from({ length: randomInt(random, 1, 4) }, () => {
        const nal = randomBytes(random, randomInt(random, 3, 700));
        nal[0] = vclHeaders[randomInt(random, 0, vclHeaders.length - 1)]!;
        nal[1] = 0x01;
        return nal;
      });
      const payloads = packetizeH265(nalUnits, { maxPayloadBytes: randomInt(random, 4, 400) });
      if (random() < 0.2) {
        const garbage = randomBytes(random, randomInt(random, 0, 40));
        if (garbage.length > 1) [garbage[0], garbage[1]] = [headers[randomInt(random, 0, headers.length - 1)]!, 0x01];
        payloads.splice(randomInt(random, 0, payloads.length), 0, garbage);
      }
      payloads.forEach((payload, i) => {
        const marker = i === payloads.length - 1 ? random() < 0.9 : random() < 0.05;
        sent.push({ payloadType: 96, sequenceNumber, timestamp, marker, ssrc: 1, payload });
        sequenceNumber = (sequenceNumber + 1) & 0xffff;
      });
    }
    // Drop some packets and swap some neighbours.
    const arriving = sent.filter(() => random() > 0.05);
    for (let i = 0; i + 1 < arriving.length; i++) {
      if (random() < 0.1) [arriving[i], arriving[i + 1]] = [arriving[i + 1]!, arriving[i]!];
    }
    const reorder = new ReorderBuffer({ capacityPackets: 8, maxDelayTicks: 9000 });
    const depacketizer = new H265Depacketizer({ maxFrameBytes: 4000 });
    let mustBeKeyframe = true;
    const take = (inputs: ReorderOutput[]) => {
      for (const input of inputs) {
        if (input.type === "loss") mustBeKeyframe = true;
        for (const frame of depacketizer.push(input)) check(frame);
      }
    };
    const check = (frame: Frame) => {
      assert(!mustBeKeyframe || frame.keyframe, `round ${round}: a non-keyframe after a loss or at the start`);
      const nalUnits = splitLengthPrefixed(frame.data);
      assert(nalUnits.length > 0 && nalUnits.every((nal) => nal.length >= 2 && (nal[0]! & 0x80) === 0));
      mustBeKeyframe = false;
      emitted++;
    };
    for (const packet of arriving) take(reorder.push(packet));
    take(reorder.flush());
    depacketizer.flush().forEach(check);
    const { frames, droppedFrames } = depacketizer.stats;
    assert(frames + droppedFrames > 0);
  }
  assert(emitted > 500, `random streams should produce frames, got ${emitted}`);
});
