/** Opus payload pass-through with loss and empty-payload accounting. */

import assert from "node:assert/strict";
import { OpusDepacketizer } from "./depacketizer.ts";
import type { ReorderOutput } from "../../rtp/mod.ts";
import { bin } from "../../shared/testing.ts";

function packet(sequenceNumber: number, timestamp: number, payload: Uint8Array): ReorderOutput {
  const rtp = { payloadType: 111, sequenceNumber, timestamp, marker: false, ssrc: 2, payload };
  return { type: "packet", packet: rtp, extendedSequence: sequenceNumber };
}

Deno.test("OpusDepacketizer passes each payload on as one Opus packet with its timestamp", () => {
  const depacketizer = new OpusDepacketizer();
  const data = bin("fc ff fe");
  assert.deepEqual(depacketizer.push(packet(1, 960, data)), [{ timestamp: 960, keyframe: true, data }]);
  assert.deepEqual(depacketizer.flush(), []);
  assert.deepEqual(depacketizer.stats, { frames: 1, droppedFrames: 0, malformedPackets: 0, lostPackets: 0 });
});

Deno.test("OpusDepacketizer skips losses and empty payloads and counts them", () => {
  const depacketizer = new OpusDepacketizer();
  const outputs = [
    packet(1, 0, bin("fc 01")),
    { type: "loss", count: 2 } as const,
    packet(4, 2880, new Uint8Array()),
    packet(5, 3840, bin("fc 02")),
  ].flatMap((input) => depacketizer.push(input));
  assert.deepEqual(outputs.map((o) => o.timestamp), [0, 3840]);
  assert.deepEqual(depacketizer.stats, { frames: 2, droppedFrames: 0, malformedPackets: 1, lostPackets: 2 });
});
