/** dOps golden bytes (checked against ffmpeg) and TOC durations for every config and frame count code. */

import assert from "node:assert/strict";
import { dOpsPayload, opusPacketDurationSamples } from "./opus.ts";
import { bin, toHex } from "../../shared/testing.ts";

Deno.test("dOpsPayload matches the box ffmpeg writes for libopus stereo", () => {
  // ffmpeg -c:a libopus -ac 2 ... out.mp4: dOps payload 00 02 0138 0000bb80 0000 00.
  assert.deepEqual(toHex(dOpsPayload({ channels: 2, preSkip: 312, inputSampleRate: 48000 })), "000201380000bb80000000");
});

Deno.test("dOpsPayload writes mono, a negative output gain and a non-48 kHz input rate big-endian", () => {
  const payload = dOpsPayload({ channels: 1, preSkip: 3840, inputSampleRate: 44100, outputGain: -256 });
  assert.deepEqual(payload, bin("00 01 0f00 0000ac44 ff00 00"));
});

Deno.test("dOpsPayload rejects what channel mapping family 0 cannot carry", () => {
  assert.throws(() => dOpsPayload({ channels: 6, preSkip: 312, inputSampleRate: 48000 }), {
    name: "BadRequestError",
    message: /channels/,
  });
  assert.throws(() => dOpsPayload({ channels: 2, preSkip: 70000, inputSampleRate: 48000 }), {
    name: "BadRequestError",
    message: /preSkip/,
  });
  assert.throws(
    () => dOpsPayload({ channels: 2, preSkip: 0, inputSampleRate: 48000, outputGain: 1.5 }),
    { name: "BadRequestError", message: /outputGain/ },
  );
});

/** TOC byte for a config (0..31) and frame count code, mono (RFC 6716 §3.1, Figure 1). */
function toc(config: number, code: number): number {
  return (config << 3) | code;
}

Deno.test("opusPacketDurationSamples maps every TOC config to its frame size at 48 kHz", () => {
  const expected = [
    ...[480, 960, 1920, 2880],
    ...[480, 960, 1920, 2880],
    ...[480, 960, 1920, 2880],
    ...[480, 960, 480, 960],
    ...[120, 240, 480, 960],
    ...[120, 240, 480, 960],
    ...[120, 240, 480, 960],
    ...[120, 240, 480, 960],
  ];
  const actual = Array.from({ length: 32 }, (_, config) => opusPacketDurationSamples(Uint8Array.of(toc(config, 0), 0)));
  assert.deepEqual(actual, expected);
});

Deno.test("opusPacketDurationSamples counts frames for codes 1, 2 and 3", () => {
  const celt20 = 31;
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(celt20, 1), 1, 2)), 1920);
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(celt20, 2), 1, 9, 9)), 1920);
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(celt20, 2), 252, 0, ...new Uint8Array(252))), 1920);
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(celt20, 3), 3, 0, 0, 0)), 2880);
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(16, 3), 48)), 5760); // 48 frames of 2.5 ms = 120 ms
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(celt20, 3), 0x86, 0)), 5760); // VBR flag set, count 6
});

Deno.test("opusPacketDurationSamples returns 0 for empty and invalid packets", () => {
  assert.deepEqual(opusPacketDurationSamples(new Uint8Array()), 0);
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(31, 1), 1)), 0); // code 1 with odd payload
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(31, 2))), 0); // code 2 without a length
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(31, 2), 5, 1)), 0); // first frame longer than packet
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(31, 3))), 0); // code 3 without a count byte
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(31, 3), 0)), 0); // zero frames
  assert.deepEqual(opusPacketDurationSamples(Uint8Array.of(toc(3, 3), 3)), 0); // 3 × 60 ms > 120 ms
});
