/** selectRange and its two rules: video from the keyframe at or before A, audio overlapping from where video starts. */

import assert from "node:assert/strict";
import { randomInt, seededRandom } from "../shared/testing.ts";
import { overlapSpan, selectRange, syncSpan, type TimedSample, type TimeRange } from "./clip_range.ts";
import { progressiveMp4 } from "./mp4_file.ts";
import type { SampleWithTime } from "./track.ts";
import { AUDIO, parseMp4, VIDEO } from "./test_helpers.ts";

/** 30 fps frames from `startTicks` with a keyframe every 30, data = the frame index. */
function video(count: number, startTicks = 0): SampleWithTime[] {
  return Array.from({ length: count }, (_, i) => ({
    decodeTimeTicks: startTicks + i * 3000,
    durationTicks: 3000,
    ctsOffsetTicks: 0,
    isSync: i % 30 === 0,
    data: new Uint8Array([i & 0xff]),
  }));
}

/** 20 ms Opus packets from `startTicks`. */
function audio(count: number, startTicks = 0): SampleWithTime[] {
  return Array.from({ length: count }, (_, i) => ({
    decodeTimeTicks: startTicks + i * 960,
    durationTicks: 960,
    ctsOffsetTicks: 0,
    isSync: true,
    data: new Uint8Array([i & 0xff]),
  }));
}

const seconds = (start: number, duration: number): TimeRange => ({
  startTicks: start * 1000,
  durationTicks: duration * 1000,
  timescale: 1000,
});

Deno.test("syncSpan starts at the keyframe at or before A and ends before A + N", () => {
  const frames = video(90);
  assert.deepEqual(syncSpan(frames, 90000, seconds(1.5, 1)), { first: 30, end: 75 }, "mid-GOP: back to 1.0 s");
  assert.deepEqual(syncSpan(frames, 90000, seconds(1, 1)), { first: 30, end: 60 }, "on a keyframe; A + N exclusive");
  assert.deepEqual(syncSpan(frames, 90000, seconds(0.999, 0.1)), { first: 0, end: 33 }, "just before a keyframe");
  assert.deepEqual(syncSpan(frames, 90000, seconds(2.5, 100)), { first: 60, end: 90 }, "past the end: all there is");
  assert.deepEqual(syncSpan(frames, 90000, seconds(3, 1)), { first: 90, end: 90 }, "after the last frame: nothing");
  assert.deepEqual(syncSpan(frames, 90000, seconds(2.97, 1)), { first: 60, end: 90 }, "the last frame is on screen");
  // Sub-tick boundaries: A = 1 s - 1/100000 s lies between frames 29 and 30, so the GOP before it is taken.
  assert.deepEqual(syncSpan(frames, 90000, { startTicks: 99999, durationTicks: 1, timescale: 100000 }), {
    first: 0,
    end: 30,
  });
});

Deno.test("syncSpan in a gap between recordings starts at the next recording, not the GOP before the gap", () => {
  const frames = [...video(60), ...video(60, 900_000)]; // 0-2 s, then 10-12 s
  assert.deepEqual(syncSpan(frames, 90000, seconds(5, 6)), { first: 60, end: 90 });
  assert.deepEqual(syncSpan(frames, 90000, seconds(1.99, 9)), { first: 30, end: 90 }, "on screen at A: 1.98 s");
});

Deno.test("syncSpan before the first keyframe starts at the first keyframe in the range, or takes nothing", () => {
  const frames = video(90, 900_000).map((f, i) => ({ ...f, isSync: i === 5 || i === 35 }));
  assert.deepEqual(syncSpan(frames, 90000, seconds(9, 2)), { first: 5, end: 30 }, "A before the recording");
  assert.deepEqual(syncSpan(frames, 90000, seconds(10, 0.1)), { first: 3, end: 3 }, "no keyframe in range");
});

Deno.test("overlapSpan takes every packet overlapping [from, to), a straddling first packet included", () => {
  const packets = audio(150);
  const ms = (ticks: number) => ({ ticks, timescale: 1000 });
  assert.deepEqual(overlapSpan(packets, 48000, ms(1000), ms(2000)), { first: 50, end: 100 }, "on packet boundaries");
  assert.deepEqual(overlapSpan(packets, 48000, ms(1010), ms(2010)), { first: 50, end: 101 }, "straddling both ends");
  assert.deepEqual(overlapSpan(packets, 48000, ms(5000), ms(6000)), { first: 150, end: 150 }, "after the end");
});

Deno.test("selectRange anchors audio at the keyframe and the file made from it keeps A/V aligned", () => {
  // Audio 10 ms ahead of the video grid: the packet straddling the keyframe at 1 s starts at 0.99 s.
  const tracks = [{ info: VIDEO, samples: video(90) }, { info: AUDIO, samples: audio(150, 480) }];
  const clip = selectRange(tracks, seconds(1.5, 1));
  assert.deepEqual(clip.origin, { ticks: 90000, timescale: 90000 });
  assert.deepEqual(clip.tracks.map((t) => [t.info.trackId, t.samples[0]?.decodeTimeTicks, t.samples.length]), [
    [1, 90000, 45],
    [2, 47520, 76], // 0.99 s up to the packet starting at 2.49 s
  ]);
  const bytes = progressiveMp4(clip.tracks, { origin: clip.origin });
  const { file, info } = parseMp4(bytes);
  assert.equal(file.moov?.traks[0]?.edts, undefined, "video starts the file");
  const elst = file.moov?.traks[1]?.edts?.elst?.entries;
  assert.deepEqual(elst?.map((e) => [e.segment_duration, e.media_time]), [[1510, 480]], "audio skips 10 ms");
  assert.equal(info.tracks[0]?.movie_duration, 1500);
});

Deno.test("selectRange without video, or with no keyframe in range, takes audio from A", () => {
  const audioOnly = selectRange([{ info: AUDIO, samples: audio(150) }], seconds(1, 0.5));
  assert.deepEqual(audioOnly.origin, { ticks: 1000, timescale: 1000 });
  assert.deepEqual(
    audioOnly.tracks[0]?.samples.map((s) => s.decodeTimeTicks / 960),
    [...Array(25).keys()].map((k) => k + 50),
  );
  const late = selectRange(
    [{ info: VIDEO, samples: video(30, 270000) }, { info: AUDIO, samples: audio(150) }],
    seconds(1, 0.5),
  );
  assert.deepEqual(late.tracks.map((t) => t.samples.length), [0, 25]);
});

/** The video rule, spelled out linearly: the reference selectRange's binary searches must agree with. */
function referenceVideo(frames: readonly SampleWithTime[], a: number, end: number): readonly SampleWithTime[] {
  const shown = frames.findIndex((f) => f.decodeTimeTicks + f.durationTicks > a);
  const endIndex = frames.findIndex((f) => f.decodeTimeTicks >= end);
  const stop = endIndex === -1 ? frames.length : endIndex;
  if (shown === -1 || shown >= stop) return [];
  const before = frames.slice(0, shown + 1).map((f) => f.isSync).lastIndexOf(true);
  const inside = frames.findIndex((f, i) => i >= shown && i < stop && f.isSync);
  const first = before !== -1 ? before : inside;
  return first === -1 ? [] : frames.slice(first, stop);
}

Deno.test("selectRange holds its rule over random GOPs, gaps between recordings and ranges", () => {
  const random = seededRandom(31);
  for (let run = 0; run < 500; run++) {
    // Jittered 30 fps with random keyframes, and now and then a gap of seconds (a recording boundary) after which
    // a new recording starts with a keyframe.
    const frames: SampleWithTime[] = [];
    let t = randomInt(random, 0, 5) * 90000 + randomInt(random, 0, 2999);
    for (let i = 0; i < 200; i++) {
      const isGap = i > 0 && random() < 0.01;
      if (isGap) t += randomInt(random, 90000, 450000);
      frames.push({
        decodeTimeTicks: t,
        durationTicks: randomInt(random, 2900, 3100),
        ctsOffsetTicks: 0,
        isSync: i === 0 || isGap || random() < 0.05,
        data: new Uint8Array(1),
      });
      t += frames[i]?.durationTicks ?? 0;
    }
    const packets = audio(600, randomInt(random, 0, 6) * 48000 + randomInt(random, 0, 959));
    const range = {
      startTicks: randomInt(random, 0, 20_000),
      durationTicks: randomInt(random, 1, 5000),
      timescale: 1000,
    };
    const a = range.startTicks * 90;
    const end = (range.startTicks + range.durationTicks) * 90;
    const clip = selectRange([{ info: VIDEO, samples: frames }, { info: AUDIO, samples: packets }], range);
    const [v, s] = clip.tracks.map((track) => track.samples);
    assert.ok(v !== undefined && s !== undefined);
    const where = `run ${run}`;
    assert.deepEqual(v, referenceVideo(frames, a, end), `${where}: video`);
    const first = v[0];
    if (first !== undefined) {
      assert.ok(first.isSync, `${where}: starts on a sync sample`);
      assert.ok(v.every((f) => f.decodeTimeTicks < end), `${where}: nothing from A + N on`);
      assert.deepEqual(clip.origin, { ticks: first.decodeTimeTicks, timescale: 90000 });
    } else {
      assert.deepEqual(clip.origin, { ticks: range.startTicks, timescale: 1000 });
    }
    const from = (clip.origin.ticks * 48000) / clip.origin.timescale;
    const to = (range.startTicks + range.durationTicks) * 48;
    const overlaps = (p: TimedSample) => p.decodeTimeTicks + p.durationTicks > from && p.decodeTimeTicks < to;
    assert.deepEqual(s, packets.filter(overlaps), `${where}: audio is exactly what overlaps [A', A + N)`);
  }
});
