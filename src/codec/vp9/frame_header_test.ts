/**
 * VP9 uncompressed headers built bit by bit for every frame kind and profile, the conformance errors libvpx also
 * refuses, and every frame of real libvpx output compared with ffmpeg's own header parser (trace_headers).
 */

import assert from "node:assert/strict";
import { parseVp9FrameHeader, Vp9ColorSpace, vp9SampleInfo } from "./frame_header.ts";
import { buildVp9Superframe, splitVp9Superframe } from "./superframe.ts";
import { interFrame, intraOnlyFrame, keyFrame, showExistingFrame, traceFrames } from "./test_helpers.ts";
import { bin } from "../../shared/testing.ts";
import { encodeTestSource, HAS_FFMPEG, readIvf, warnIfNoFfmpeg } from "../vp8/test_helpers.ts";

warnIfNoFfmpeg("src/codec/vp9/frame_header_test.ts");

Deno.test("parseVp9FrameHeader reads a profile 0 key frame: 8-bit 4:2:0, colour space, range, size", () => {
  assert.deepEqual(parseVp9FrameHeader(keyFrame({ colorSpace: Vp9ColorSpace.Bt709, widthPx: 640, heightPx: 360 })), {
    profile: 0,
    showExistingFrame: false,
    keyframe: true,
    showFrame: true,
    intraOnly: false,
    color: { bitDepth: 8, colorSpace: 2, fullRange: false, subsamplingX: true, subsamplingY: true },
    refreshFrameFlags: 0xff,
    widthPx: 640,
    heightPx: 360,
  });
});

Deno.test("parseVp9FrameHeader reads the bit depth of profiles 2 and 3 and the subsampling of profiles 1 and 3", () => {
  const cases = [
    { frame: keyFrame({ profile: 2, bitDepth: 10 }), expected: [2, 10, true, true] },
    { frame: keyFrame({ profile: 2, bitDepth: 12 }), expected: [2, 12, true, true] },
    { frame: keyFrame({ profile: 1, subsampling: [0, 0] }), expected: [1, 8, false, false] },
    { frame: keyFrame({ profile: 1, subsampling: [1, 0] }), expected: [1, 8, true, false] },
    { frame: keyFrame({ profile: 3, bitDepth: 12, subsampling: [0, 1] }), expected: [3, 12, false, true] },
  ];
  for (const { frame, expected } of cases) {
    const { profile, color } = parseVp9FrameHeader(frame);
    assert.deepEqual([profile, color?.bitDepth, color?.subsamplingX, color?.subsamplingY], expected);
  }
});

Deno.test("parseVp9FrameHeader reads RGB as 4:4:4 full range in profiles 1 and 3", () => {
  const { color } = parseVp9FrameHeader(keyFrame({ profile: 1, colorSpace: Vp9ColorSpace.Rgb }));
  assert.deepEqual(color, { bitDepth: 8, colorSpace: 7, fullRange: true, subsamplingX: false, subsamplingY: false });
});

Deno.test("parseVp9FrameHeader reads inter frames with a stated size or a size from a reference slot", () => {
  assert.deepEqual(parseVp9FrameHeader(interFrame({ refresh: 0x06, refs: [3, 4, 5], foundRef: 1 })), {
    profile: 0,
    showExistingFrame: false,
    keyframe: false,
    showFrame: true,
    intraOnly: false,
    refreshFrameFlags: 0x06,
    sizeFromSlot: 4,
  });
  const stated = parseVp9FrameHeader(interFrame({ errorResilient: true, showFrame: false, widthPx: 99, heightPx: 77 }));
  assert.deepEqual([stated.showFrame, stated.widthPx, stated.heightPx, stated.sizeFromSlot], [
    false,
    99,
    77,
    undefined,
  ]);
});

Deno.test("parseVp9FrameHeader reads intra-only frames, with colour only above profile 0", () => {
  const p0 = parseVp9FrameHeader(intraOnlyFrame({ refresh: 0x80, widthPx: 16, heightPx: 8 }));
  assert.deepEqual([p0.keyframe, p0.intraOnly, p0.refreshFrameFlags, p0.widthPx, p0.color?.colorSpace], [
    false,
    true,
    0x80,
    16,
    Vp9ColorSpace.Bt601,
  ]);
  const p2 = parseVp9FrameHeader(intraOnlyFrame({ profile: 2, bitDepth: 10 }));
  assert.deepEqual(p2.color?.bitDepth, 10);
});

Deno.test("parseVp9FrameHeader reads a show-existing frame and never calls it a key frame", () => {
  assert.deepEqual(parseVp9FrameHeader(showExistingFrame(5)), {
    profile: 0,
    showExistingFrame: true,
    frameToShow: 5,
    keyframe: false,
    showFrame: true,
    intraOnly: false,
    refreshFrameFlags: 0,
  });
});

Deno.test("parseVp9FrameHeader rejects what libvpx refuses, naming the value", () => {
  const badSync = keyFrame();
  badSync[1] = badSync[1]! ^ 0x01;
  const reservedProfile3 = keyFrame({ profile: 3 });
  reservedProfile3[0] = reservedProfile3[0]! | 0x08; // the reserved bit after the profile bits
  const cases: [Uint8Array, RegExp][] = [
    [bin("40 00"), /frame_marker 1, expected 2/],
    [badSync, /sync code 488342, expected 498342/],
    [reservedProfile3, /profile 3 with its reserved bit set/],
    [keyFrame({ profile: 0, colorSpace: Vp9ColorSpace.Rgb }), /RGB in profile 0/],
    [keyFrame({ profile: 1, subsampling: [1, 1] }), /4:2:0 in profile 1/],
    [keyFrame().subarray(0, 6), /truncated while reading frame_width_minus_1/],
    [new Uint8Array(), /truncated while reading frame_marker/],
  ];
  for (const [frame, message] of cases) {
    assert.throws(() => parseVp9FrameHeader(frame), { name: "BadRequestError", message }, String(message));
  }
});

Deno.test("vp9SampleInfo follows a superframe of spatial layers to the size of its top layer", () => {
  // SVC key picture: a 160x90 key frame, then a 320x180 inter frame predicting from it (stated size), then 640x360.
  const sample = buildVp9Superframe([
    keyFrame({ widthPx: 160, heightPx: 90 }),
    interFrame({ refs: [0, 0, 0], refresh: 0x02, widthPx: 320, heightPx: 180 }),
    interFrame({ refs: [1, 1, 1], refresh: 0x04, widthPx: 640, heightPx: 360 }),
  ]);
  const info = vp9SampleInfo(sample);
  assert.deepEqual([info.keyframe, info.first.widthPx, info.widthPx, info.heightPx], [true, 160, 640, 360]);
});

Deno.test("vp9SampleInfo takes sizes from the slots the frames of a sample refreshed", () => {
  const sample = buildVp9Superframe([
    keyFrame({ widthPx: 200, heightPx: 100, showFrame: false }),
    intraOnlyFrame({ refresh: 0x10, widthPx: 50, heightPx: 40 }),
    interFrame({ refs: [4, 0, 0], foundRef: 0, showFrame: false }), // 50x40 from slot 4, hidden
    showExistingFrame(4),
  ]);
  assert.deepEqual(vp9SampleInfo(sample).widthPx, 50);
  // Nothing shown: the key frame's own size.
  assert.deepEqual(vp9SampleInfo(keyFrame({ widthPx: 64, heightPx: 48, showFrame: false })).heightPx, 48);
  // An inter frame alone takes its size from a slot the sample never filled: unknown.
  assert.deepEqual(vp9SampleInfo(interFrame({ foundRef: 2 })).widthPx, undefined);
});

Deno.test("vp9SampleInfo rejects an impossible superframe index", () => {
  const frame = keyFrame();
  assert.throws(() => vp9SampleInfo(bin(`${hex(frame)} c1 ff 05 c1`)), { name: "BadRequestError" });
});

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "parseVp9FrameHeader agrees with ffmpeg's trace_headers on every frame of libvpx profile 0 and 2 streams",
  ignore: !HAS_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "liverec-vp9-header-" });
    try {
      // Two-pass with alt-ref frames: superframes of a hidden frame and a shown one.
      const common = ["-c:v", "libvpx-vp9", "-g", "30", "-b:v", "300k", "-passlogfile", `${dir}/pass`];
      await encodeTestSource("-", [...common, "-pass", "1", "-f", "null"]);
      await encodeTestSource(`${dir}/p0.ivf`, [...common, "-pass", "2", "-auto-alt-ref", "1"]);
      await encodeTestSource(`${dir}/p2.ivf`, [
        "-c:v",
        "libvpx-vp9",
        "-profile:v",
        "2",
        "-pix_fmt",
        "yuv420p10le",
        "-g",
        "30",
      ]);
      for (const name of ["p0", "p2"]) {
        const path = `${dir}/${name}.ivf`;
        const ours = readIvf(await Deno.readFile(path)).frames.flatMap(splitVp9Superframe).map(parseVp9FrameHeader);
        const theirs = await traceFrames(path);
        assert.deepEqual(ours.length, theirs.length, `${name}: frame count`);
        const slots: string[] = [];
        ours.forEach((header, i) => {
          const traced = theirs[i]!;
          assert.deepEqual(header.showExistingFrame, traced.showExistingFrame, `${name} frame ${i}`);
          if (header.showExistingFrame) return;
          assert.deepEqual(
            [header.keyframe, header.showFrame],
            [traced.keyframe, traced.showFrame],
            `${name} frame ${i}`,
          );
          if (!header.keyframe) {
            assert.deepEqual(header.refreshFrameFlags, traced.refreshFrameFlags, `${name} frame ${i}`);
          }
          const size = header.sizeFromSlot !== undefined
            ? slots[header.sizeFromSlot]
            : `${header.widthPx}x${header.heightPx}`;
          assert.deepEqual(size, traced.size, `${name} frame ${i}`);
          for (let slot = 0; slot < 8; slot++) if (header.refreshFrameFlags & (1 << slot)) slots[slot] = size!;
          if (header.keyframe) assert.deepEqual(header.color?.bitDepth, traced.bitDepth, `${name} frame ${i}`);
        });
        assert(ours.some((h) => !h.showFrame) === (name === "p0"), `${name}: hidden alt-ref frames only in p0`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
