/** Muxing throughput: one minute of 2.5 Mbps 30 fps video plus 20 ms Opus through the Segmenter (`deno bench`). */

import { Segmenter, type SegmenterOutput } from "./segmenter.ts";

/** Bytes of the fragments in `outputs`. */
function fragmentBytes(outputs: readonly SegmenterOutput[]): number {
  let bytes = 0;
  for (const output of outputs) if (output.type === "fragment") bytes += output.bytes.byteLength;
  return bytes;
}

const VIDEO_FRAMES = 60 * 30;
const FRAME_BYTES = Math.round(2_500_000 / 8 / 30);
const frames = Array.from(
  { length: VIDEO_FRAMES },
  (_, i) => new Uint8Array(i % 60 === 0 ? FRAME_BYTES * 8 : FRAME_BYTES),
);
const packet = new Uint8Array(160);

Deno.bench("Segmenter muxes 60 s of 2.5 Mbps video + Opus into 2 s segments of 1 s fragments", () => {
  const segmenter = new Segmenter({
    segmentDurationMs: 2000,
    fragmentDurationMs: 1000,
    firstNumber: 1,
    video: { trackId: 1, timescale: 90000 },
    audio: { trackId: 2, timescale: 48000 },
  });
  let audioPts = 0;
  let bytes = 0;
  frames.forEach((data, i) => {
    bytes += fragmentBytes(segmenter.pushVideo({ dtsTicks: i * 3000, isKeyframe: i % 60 === 0, data }));
    while (audioPts * 90000 <= i * 3000 * 48000) {
      bytes += fragmentBytes(segmenter.pushAudio({ ptsTicks: audioPts, durationTicks: 960, data: packet }));
      audioPts += 960;
    }
  });
  bytes += fragmentBytes(segmenter.flush());
  if (bytes < 60 * 2_500_000 / 8) throw new Error(`too few bytes: ${bytes}`);
});
