/** Hand-built VP8 frame tags and key frame headers (RFC 6386 §9.1, §19.1). */

import assert from "node:assert/strict";
import { isVp8Keyframe, parseVp8FrameHeader } from "./frame_header.ts";
import { bin } from "../../shared/testing.ts";

// Frame tag, little-endian: frame_type (bit 0), version (bits 1-3), show_frame (bit 4), first_part_size (bits 5-23).
// 0x002470 = first_part_size 0x123, show_frame 1, version 0, key frame.
const keyTag = "70 24 00";

Deno.test("parseVp8FrameHeader reads a key frame's tag, start code and size", () => {
  const header = parseVp8FrameHeader(bin(`${keyTag} 9d012a 4001 f000 aabb`));
  assert.deepEqual(header, {
    keyframe: true,
    version: 0,
    showFrame: true,
    firstPartitionBytes: 0x123,
    widthPx: 320,
    heightPx: 240,
  });
});

Deno.test("parseVp8FrameHeader ignores the 2-bit scaling fields above the 14-bit sizes", () => {
  // width 0x8140: horizontal_scale 2, width 320; height 0xc0f0: vertical_scale 3, height 240.
  const header = parseVp8FrameHeader(bin(`${keyTag} 9d012a 4081 f0c0`));
  assert.deepEqual([header.widthPx, header.heightPx], [320, 240]);
});

Deno.test("parseVp8FrameHeader reads the version and a hidden frame's show_frame", () => {
  // version 3 (bits 1-3 = 011), show_frame 0: tag 0x000006.
  const header = parseVp8FrameHeader(bin("06 00 00 9d012a 1000 1000"));
  assert.deepEqual([header.keyframe, header.version, header.showFrame, header.widthPx], [true, 3, false, 16]);
});

Deno.test("parseVp8FrameHeader reads an inter frame's tag without a start code", () => {
  // 0x000031: inter frame (bit 0), show_frame, first_part_size 1.
  assert.deepEqual(parseVp8FrameHeader(bin("31 00 00 ff")), {
    keyframe: false,
    version: 0,
    showFrame: true,
    firstPartitionBytes: 1,
  });
  assert.deepEqual(isVp8Keyframe(bin("31 00 00 ff")), false);
});

Deno.test("parseVp8FrameHeader rejects truncated and corrupt key frames with the offending value", () => {
  const cases: [string, RegExp][] = [
    ["70 24", /2 bytes has no 3-byte frame tag/],
    [`${keyTag} 9d012a 4001`, /8 bytes is shorter than its 10-byte header/],
    [`${keyTag} 9d012b 4001 f000`, /start code 9d012b, expected 9d012a/],
    [`${keyTag} 9d012a 0000 f000`, /size 0x240/],
    ["78 24 00 9d012a 4001 f000", /version 4 is not 0 to 3/],
  ];
  for (const [hex, message] of cases) {
    assert.throws(() => parseVp8FrameHeader(bin(hex)), { name: "BadRequestError", message }, hex);
    assert.deepEqual(isVp8Keyframe(bin(hex)), false, hex);
  }
});
