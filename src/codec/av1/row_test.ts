/** The AV1 row: fmtp verdicts, the format read from a keyframe sample, and undefined for anything unusable. */

import assert from "node:assert/strict";
import { av1 } from "./row.ts";
import type { Frame } from "../codec.ts";
import { bin, randomBytes, seededRandom, toHex } from "../../shared/testing.ts";

const sh = "0a 0b 000000043cffbcdaf90040";
const key = "32 03 10aabb";

function keyframe(hex: string | Uint8Array): Frame {
  return { timestamp: 0, keyframe: true, data: typeof hex === "string" ? bin(hex) : hex };
}

Deno.test("av1 row names the codec and its 90 kHz clock", () => {
  assert.deepEqual([av1.kind, av1.name, av1.sdpName, av1.clockRate], ["video", "av1", "av1", 90_000]);
  assert.equal(av1.createDepacketizer().waitingForKeyframe, true);
});

Deno.test("av1 readFmtp accepts profiles 0 to 2, Main first, and refuses the rest", () => {
  const verdict = (entries: [string, string][]) => av1.readFmtp(new Map(entries));
  assert.deepEqual(verdict([]), { rank: 2, parameterSets: [] });
  assert.deepEqual(verdict([["profile", "0"], ["level-idx", "5"], ["tier", "0"]]), { rank: 2, parameterSets: [] });
  assert.deepEqual(verdict([["profile", "1"]]), { rank: 1, parameterSets: [] });
  assert.deepEqual(verdict([["profile", "2"]]), { rank: 0, parameterSets: [] });
  assert.deepEqual(verdict([["profile", "3"]]), { refused: "AV1 profile 3" });
  assert.deepEqual(verdict([["profile", "main"]]), { refused: "AV1 profile main" });
});

Deno.test("av1 format reads av01/av1C, the maximum frame size and the codecs string from the sequence header", () => {
  const format = av1.format(keyframe(sh + key), []);
  assert(format !== undefined);
  assert.deepEqual(format.sampleEntry.fourcc, "av01");
  assert.deepEqual(format.sampleEntry.config.fourcc, "av1C");
  assert.equal(toHex(format.sampleEntry.config.body), "81000c000a0b000000043cffbcdaf90040");
  assert.deepEqual([format.widthPx, format.heightPx, format.codecs], [320, 240, "av01.0.00M.08"]);
  assert.equal("frameRate" in format, false);
  // Metadata may come before the sequence header (binding §2.4).
  assert.equal(av1.format(keyframe("2a 02 0102" + sh + key), [])?.codecs, "av01.0.00M.08");
});

Deno.test("av1 format returns undefined for garbage, truncated or missing sequence headers", () => {
  const cases = [
    "",
    key, // no sequence header
    "0a 0b 000000043cffbcdaf9", // obu_size past the end
    "0a 05 000000043c" + key, // sequence header cut short
    "0a 04 e0000000" + key, // seq_profile 7
    "8a 00", // forbidden bit
  ];
  for (const hex of cases) assert.equal(av1.format(keyframe(hex), []), undefined, hex);
  const random = seededRandom(5);
  for (let i = 0; i < 500; i++) {
    const data = randomBytes(random, i % 40);
    if (data.length > 0 && i % 2 === 0) data[0] = 0x0a; // a sized sequence header OBU, random inside
    assert.doesNotThrow(() => av1.format(keyframe(data), []));
  }
});
