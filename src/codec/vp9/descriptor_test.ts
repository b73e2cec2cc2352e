/** Hand-built VP9 payload descriptors (RFC 9628 §4.2) in both modes, with and without a scalability structure. */

import assert from "node:assert/strict";
import { parseVp9Descriptor, type Vp9Descriptor, writeVp9Descriptor } from "./descriptor.ts";
import { bin, toHex } from "../../shared/testing.ts";

const bits = {
  interPicturePredicted: false,
  flexible: false,
  beginsFrame: false,
  endsFrame: false,
  notReferenceForUpperLayers: false,
};

const cases: { name: string; hex: string; expected: Vp9Descriptor; readOnly?: boolean }[] = [
  { name: "B and E alone", hex: "0c aa", expected: { ...bits, beginsFrame: true, endsFrame: true, sizeBytes: 1 } },
  {
    name: "non-flexible: 7-bit picture ID, layer indices and TL0PICIDX (Chromium without SVC)",
    hex: "e8 15 52 07 aa",
    expected: {
      ...bits,
      interPicturePredicted: true,
      beginsFrame: true,
      pictureId: 0x15,
      layer: { temporalId: 2, switchingUpPoint: true, spatialId: 1, interLayerDependency: false, tl0PicIdx: 7 },
      sizeBytes: 4,
    },
  },
  {
    name: "flexible: 15-bit picture ID, layer indices without TL0PICIDX, 3 P_DIFFs (Chromium SVC)",
    hex: "f5 8123 03 03 05 0e aa",
    expected: {
      ...bits,
      interPicturePredicted: true,
      flexible: true,
      endsFrame: true,
      notReferenceForUpperLayers: true,
      pictureId: 0x123,
      layer: { temporalId: 0, switchingUpPoint: false, spatialId: 1, interLayerDependency: true },
      referenceDiffs: [1, 2, 7],
      sizeBytes: 7,
    },
  },
  {
    name: "flexible without P: no P_DIFF",
    hex: "98 7f aa",
    expected: { ...bits, flexible: true, beginsFrame: true, pictureId: 0x7f, sizeBytes: 2 },
  },
  {
    name: "F without a picture ID, which receivers ignore: read as non-flexible, TL0PICIDX present",
    hex: "38 00 09 aa",
    expected: {
      ...bits,
      beginsFrame: true,
      layer: { temporalId: 0, switchingUpPoint: false, spatialId: 0, interLayerDependency: false, tl0PicIdx: 9 },
      sizeBytes: 3,
    },
    readOnly: true, // the writer never sets F without I
  },
  {
    name: "a scalability structure with 2 resolutions and a picture group",
    // N_S = 1, Y, G; 320x180, 640x360; N_G = 2: (TID 0, U 0, R 1, P_DIFF 2), (TID 1, U 1, R 0).
    hex: "8a 01 38 0140 00b4 0280 0168 02 04 02 30 aa",
    expected: {
      ...bits,
      beginsFrame: true,
      pictureId: 1,
      scalability: {
        spatialLayers: 2,
        resolutions: [{ widthPx: 320, heightPx: 180 }, { widthPx: 640, heightPx: 360 }],
        pictureGroup: [
          { temporalId: 0, switchingUpPoint: false, referenceDiffs: [2] },
          { temporalId: 1, switchingUpPoint: true, referenceDiffs: [] },
        ],
      },
      sizeBytes: 15,
    },
  },
  {
    name: "a scalability structure without resolutions or picture group",
    hex: "0a 40 aa",
    expected: { ...bits, beginsFrame: true, scalability: { spatialLayers: 3 }, sizeBytes: 2 },
  },
];

for (const c of cases) {
  Deno.test(`parseVp9Descriptor reads ${c.name}`, () => {
    assert.deepEqual(parseVp9Descriptor(bin(c.hex)), c.expected);
  });

  if (c.readOnly) continue;
  Deno.test(`writeVp9Descriptor writes ${c.name}`, () => {
    const { sizeBytes, ...fields } = c.expected;
    assert.deepEqual(toHex(writeVp9Descriptor(fields)), c.hex.replaceAll(" ", "").slice(0, 2 * sizeBytes));
  });
}

Deno.test("parseVp9Descriptor rejects a descriptor cut short, over-long P_DIFFs, or no VP9 data", () => {
  const bad: [string, RegExp][] = [
    ["", /truncated before the first octet/],
    ["80", /truncated before the picture ID/],
    ["80 81", /truncated before the picture ID low octet/],
    ["a0 01 00", /truncated before TL0PICIDX/],
    ["d0 01 03", /truncated before P_DIFF/],
    ["d0 01 03 03 03 03 aa", /more than 3 P_DIFF octets/],
    ["02 30 0140 00b4", /truncated before WIDTH/],
    ["02 08", /truncated before N_G/],
    ["02 08 01 04", /truncated before a picture group P_DIFF/],
    ["0c", /no VP9 data after the 1-byte descriptor/],
  ];
  for (const [hex, message] of bad) {
    assert.throws(() => parseVp9Descriptor(bin(hex)), { name: "BadRequestError", message }, hex);
  }
});

Deno.test("writeVp9Descriptor refuses what it cannot encode", () => {
  const flexiblePredicted = { ...bits, flexible: true, interPicturePredicted: true, pictureId: 1 };
  assert.throws(() => writeVp9Descriptor(flexiblePredicted), { message: /1 to 3 P_DIFFs, got 0/ });
  assert.throws(() => writeVp9Descriptor({ ...bits, scalability: { spatialLayers: 9 } }), { message: /got 9/ });
  assert.throws(
    () =>
      writeVp9Descriptor({ ...bits, scalability: { spatialLayers: 2, resolutions: [{ widthPx: 1, heightPx: 1 }] } }),
    { message: /1 resolutions for 2 layers/ },
  );
});
