/** Golden VP9 payloads built by hand from RFC 9628 §4.2. */

import assert from "node:assert/strict";
import { packetizeVp9, type Vp9PacketizerOptions } from "./packetizer.ts";
import { bin, toHex } from "../../shared/testing.ts";

const frame = bin("82 49 83 42 00 11 22 33 44 55");
const plain: Vp9PacketizerOptions["descriptor"] = {
  interPicturePredicted: false,
  flexible: false,
  notReferenceForUpperLayers: false,
};

Deno.test("packetizeVp9 sends a small frame as one payload with B and E", () => {
  assert.deepEqual(packetizeVp9(frame, { descriptor: plain }).map(toHex), ["0c" + toHex(frame)]);
});

Deno.test("packetizeVp9 puts B on the first payload, E on the last and the SS on the first only", () => {
  const payloads = packetizeVp9(frame, {
    mtu: 14,
    descriptor: {
      ...plain,
      pictureId: 0x1234,
      layer: { temporalId: 0, switchingUpPoint: false, spatialId: 0, interLayerDependency: false, tl0PicIdx: 3 },
      scalability: { spatialLayers: 1, resolutions: [{ widthPx: 320, heightPx: 240 }] },
    },
  });
  // I, L, B, V; 15-bit picture ID; layer indices and TL0PICIDX; SS of one 320x240 layer. Then I, L, E.
  assert.deepEqual(
    payloads.map(toHex),
    ["aa 9234 0003 10 014000f0 82498342", "a4 9234 0003 001122334455"]
      .map((h) => h.replaceAll(" ", "")),
  );
});

Deno.test("packetizeVp9 writes flexible-mode reference indices in every payload", () => {
  const payloads = packetizeVp9(frame, {
    mtu: 10,
    descriptor: { ...plain, interPicturePredicted: true, flexible: true, pictureId: 5, referenceDiffs: [1, 2] },
  });
  // I, P, F: d0 | B/E; picture ID 05; P_DIFFs 03 (1, more follow) 04 (2, last).
  assert.deepEqual(
    payloads.map(toHex),
    ["d8" + "05" + "0304" + "8249834200 11", "d4" + "05" + "0304" + "22334455"]
      .map((h) => h.replaceAll(" ", "")),
  );
});

Deno.test("packetizeVp9 rejects an empty frame and an mtu without room after the descriptor", () => {
  assert.throws(() => packetizeVp9(new Uint8Array(), { descriptor: plain }), {
    name: "BadRequestError",
    message: /empty frame/,
  });
  assert.throws(() => packetizeVp9(frame, { mtu: 1, descriptor: plain }), {
    name: "BadRequestError",
    message: /mtu must be between 2 and 65535, got 1/,
  });
});
