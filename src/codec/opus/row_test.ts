import assert from "node:assert/strict";
import { opus } from "./row.ts";

Deno.test("the Opus row declares mono only when the offer says sprop-stereo=0", () => {
  assert.equal(opus.channels(new Map([["minptime", "10"], ["useinbandfec", "1"]])), 2);
  assert.equal(opus.channels(new Map([["sprop-stereo", "1"]])), 2);
  assert.equal(opus.channels(new Map([["sprop-stereo", "0"]])), 1);
  const mono = opus.format(1);
  assert.deepEqual([mono.channels, mono.sampleRate, mono.codecs, mono.sampleEntry.fourcc], [1, 48_000, "opus", "Opus"]);
  assert.equal(mono.sampleEntry.config.body[1], 1, "dOps OutputChannelCount");
});
