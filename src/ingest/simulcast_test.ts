import assert from "node:assert/strict";
import { VIDEO_CODECS } from "../codec/mod.ts";
import type { RtpPacket } from "../rtp/mod.ts";
import { LayerPicker } from "./simulcast.ts";

const VP8 = VIDEO_CODECS.get("vp8")!;

/** One RTP packet holding a whole VP8 frame (RFC 7741: a 1-byte descriptor with S set), keyframe of the given size. */
function keyframe(widthPx: number, heightPx: number, sequenceNumber = 1): RtpPacket {
  const frame = [0x70, 0x24, 0x00, 0x9d, 0x01, 0x2a, widthPx & 0xff, widthPx >> 8, heightPx & 0xff, heightPx >> 8];
  const payload = new Uint8Array([0x10, ...frame, 0, 0, 0, 0]);
  return { payloadType: 96, sequenceNumber, timestamp: sequenceNumber * 3000, marker: true, ssrc: 1, payload };
}

/** A VP8 inter frame: no size to learn from. */
function interframe(sequenceNumber: number): RtpPacket {
  return { ...keyframe(0, 0, sequenceNumber), payload: new Uint8Array([0x10, 0x71, 0x24, 0x00, 0, 0, 0]) };
}

Deno.test("LayerPicker chooses the largest picture once every layer has shown a keyframe", () => {
  const picker = new LayerPicker({ codec: VP8, rids: ["l", "m", "h"], wanted: undefined });
  assert.equal(picker.push("m", keyframe(640, 360), 0), undefined);
  assert.equal(picker.push("h", interframe(2), 10), undefined, "an inter frame shows no size");
  assert.equal(picker.push("l", keyframe(320, 180), 20), undefined, "h has not shown its size yet");
  assert.equal(picker.push("h", keyframe(1280, 720, 3), 30), "h");
  assert.equal(picker.push("l", keyframe(320, 180, 4), 40), "h", "a smaller layer never takes over");
});

Deno.test("LayerPicker lets a layer that starts late with a larger picture take over", () => {
  const picker = new LayerPicker({ codec: VP8, rids: ["q", "h", "f"], wanted: undefined, waitMs: 1000 });
  picker.push("q", keyframe(320, 180), 0);
  assert.equal(picker.push("q", interframe(2), 1000), "q", "chosen among the layers seen after the wait");
  assert.equal(picker.push("h", keyframe(640, 360, 3), 2500), "h");
  assert.equal(picker.push("f", keyframe(1280, 720, 4), 5000), "f");
});

Deno.test("LayerPicker chooses among the layers seen when the others stay silent past the wait", () => {
  const picker = new LayerPicker({ codec: VP8, rids: ["q", "h", "f"], wanted: undefined, waitMs: 2000 });
  assert.equal(picker.push("q", keyframe(320, 180), 0), undefined);
  assert.equal(picker.push("h", keyframe(640, 360), 1999), undefined);
  assert.equal(picker.push("q", interframe(2), 2000), "h");
});

Deno.test("LayerPicker takes [webrtc] simulcast_layer when the offer has it, and ignores it when not", () => {
  const named = new LayerPicker({ codec: VP8, rids: ["l", "h"], wanted: "l" });
  assert.equal(named.chosen, "l");
  assert.equal(named.push("h", keyframe(640, 360), 0), "l", "a named layer is kept");
  const picker = new LayerPicker({ codec: VP8, rids: ["l", "h"], wanted: "x" });
  assert.equal(picker.chosen, undefined);
  picker.push("l", keyframe(320, 180), 0);
  assert.equal(picker.push("h", keyframe(640, 360), 1), "h");
  assert.equal(picker.push("other", keyframe(1920, 1080), 2), "h", "a rid not offered is never chosen");
});
