/** Muxing throughput: one minute of 2.5 Mbps 30 fps video plus 20 ms Opus through the Segmenter (`deno bench`). */

import { Segmenter } from "./segmenter.ts";

const VIDEO_FRAMES = 60 * 30;
const FRAME_BYTES = Math.round(2_500_000 / 8 / 30);
const frames = Array.from(
  { length: VIDEO_FRAMES },
  (_, i) => new Uint8Array(i % 60 === 0 ? FRAME_BYTES * 8 : FRAME_BYTES),
);
const packet = new Uint8Array(160);

Deno.bench("Segmenter muxes 60 s of 2.5 Mbps video + Opus into 2 s segments", () => {
  const segmenter = new Segmenter({
    segmentDurationMs: 2000,
    firstNumber: 1,
    video: { trackId: 1, timescale: 90000 },
    audio: { trackId: 2, timescale: 48000 },
  });
  let audioPts = 0;
  let bytes = 0;
  frames.forEach((data, i) => {
    for (const s of segmenter.pushVideo({ ptsTicks: i * 3000, isKeyframe: i % 60 === 0, data })) {
      bytes += s.bytes.byteLength;
    }
    while (audioPts * 90000 <= i * 3000 * 48000) {
      for (const s of segmenter.pushAudio({ ptsTicks: audioPts, durationTicks: 960, data: packet })) {
        bytes += s.bytes.byteLength;
      }
      audioPts += 960;
    }
  });
  for (const s of segmenter.flush()) bytes += s.bytes.byteLength;
  if (bytes < 60 * 2_500_000 / 8) throw new Error(`too few bytes: ${bytes}`);
});
