import assert from "node:assert/strict";
import { toLengthPrefixed } from "../../codec/mod.ts";
import { type FlvRecord, parseAudioTag, parseVideoTag } from "../../ingest/rtmp/flv_tags.ts";
import { UnsupportedError } from "../../shared/errors.ts";
import { bin, concat, toHex } from "../../shared/testing.ts";
import { type AudioFrame, type Cut, type FragmentCut, SegmentCutter, type VideoFrame } from "../segment_cutter.ts";
import type { Sample, TrackInfo } from "../track.ts";
import { flvWholePrefixBytes } from "./tags.ts";
import {
  AAC_TRACK,
  ASC_48K_STEREO,
  AVC_TRACK,
  HEVC_TRACK,
  HVCC,
  MP3_TRACK,
  readFlv,
  readScriptData,
  type ReadTag,
  videoTrack,
} from "./testing.ts";
import { FlvWriter } from "./writer.ts";
import { AVCC_720P } from "../test_helpers.ts";

/** A fake H.264 access unit whose bytes say which frame it is. */
function h264Sample(index: number, isKeyframe: boolean): Uint8Array {
  return toLengthPrefixed([new Uint8Array([isKeyframe ? 0x65 : 0x41, 0x88, index >> 8, index & 0xff])]);
}

/** A fake raw AAC frame whose bytes say which frame it is. */
function aacFrame(index: number): Uint8Array {
  return new Uint8Array([0x21, 0x10, index >> 8, index & 0xff]);
}

/** Decode time ticks and timescale of one sample, and its role. */
interface Timed {
  role: "video" | "audio";
  dtsTicks: number;
  timescale: number;
  sample: Sample;
}

/** The samples of the fragment cuts of `role`, on its decode timeline. */
function timedSamples(cuts: readonly Cut[], role: "video" | "audio", timescale: number): Timed[] {
  return cuts.flatMap((cut) => {
    if (cut.type !== "fragment" || cut.track !== role) return [];
    let dtsTicks = cut.startTicks;
    return cut.samples.map((sample) => {
      const entry = { role, dtsTicks, timescale, sample };
      dtsTicks += sample.durationTicks;
      return entry;
    });
  });
}

/** `ticks / timescale - originTicks / originTimescale` seconds in ms, rounded half up, in exact BigInt arithmetic. */
function expectedMs(ticks: number, timescale: number, originTicks: number, originTimescale: number): number {
  const numerator = (BigInt(ticks) * BigInt(originTimescale) - BigInt(originTicks) * BigInt(timescale)) * 2000n +
    BigInt(timescale) * BigInt(originTimescale);
  const denominator = BigInt(timescale) * BigInt(originTimescale) * 2n;
  const floor = numerator >= 0n ? numerator / denominator : -((-numerator + denominator - 1n) / denominator);
  return Number(floor);
}

/** Whether `a` decodes strictly before `b` (exact). */
function before(a: Timed, b: Timed): boolean {
  return BigInt(a.dtsTicks) * BigInt(b.timescale) < BigInt(b.dtsTicks) * BigInt(a.timescale);
}

/** The ingest parser's one record of a media tag. */
function parseTag(tag: ReadTag): FlvRecord {
  const records = tag.type === 9 ? parseVideoTag(tag.body, tag.timestampMs) : parseAudioTag(tag.body, tag.timestampMs);
  assert.equal(records.length, 1);
  return records[0]!;
}

/** The frames of a file, with their tag timestamps, in file order. */
function frames(tags: readonly ReadTag[]): { tag: ReadTag; record: FlvRecord & { type: "frame" } }[] {
  return tags.flatMap((tag) => {
    if (tag.type === 18) return [];
    const record = parseTag(tag);
    return record.type === "frame" ? [{ tag, record }] : [];
  });
}

/** Runs frames through a SegmentCutter (1 s segments, no fragments: ~1 s batches) as a publisher sends them. */
function cutAndWrite(video: VideoFrame[], audio: AudioFrame[], writer: FlvWriter, audioTimescale = 48000) {
  const cutter = new SegmentCutter({
    segmentDurationMs: 1000,
    firstNumber: 1,
    video: { trackId: 1, timescale: 90000 },
    audio: { trackId: 2, timescale: audioTimescale },
  });
  const cuts: Cut[] = [];
  const chunks: Uint8Array[] = [writer.start()];
  const take = (out: Cut[]) => {
    for (const cut of out) {
      cuts.push(cut);
      chunks.push(writer.push(cut));
    }
  };
  let next = 0;
  for (const frame of video) {
    take(cutter.pushVideo(frame));
    while (next < audio.length && audio[next]!.ptsTicks * 90000 <= frame.dtsTicks * audioTimescale) {
      take(cutter.pushAudio(audio[next++]!));
    }
  }
  while (next < audio.length) take(cutter.pushAudio(audio[next++]!));
  take(cutter.flush());
  chunks.push(writer.flush());
  return { cuts, chunks, file: concat(chunks) };
}

const VIDEO_FRAMES: VideoFrame[] = Array.from({ length: 90 }, (_, i) => ({
  dtsTicks: 1000 + i * 3003,
  isKeyframe: i % 30 === 0,
  data: h264Sample(i, i % 30 === 0),
}));
const AUDIO_FRAMES: AudioFrame[] = Array.from({ length: 128 }, (_, i) => ({
  ptsTicks: 600 + i * 1024,
  durationTicks: 1024,
  data: aacFrame(i),
}));

Deno.test("FlvWriter interleaves H.264 and AAC batches in decode order, every sample once, timestamps never back", () => {
  const writer = new FlvWriter({ video: AVC_TRACK, audio: AAC_TRACK });
  const { cuts, chunks, file } = cutAndWrite(VIDEO_FRAMES, AUDIO_FRAMES, writer);
  const { hasAudio, hasVideo, tags } = readFlv(file);
  assert.ok(hasAudio && hasVideo);

  // onMetaData, then the two sequence headers at 0.
  const metadata = readScriptData(tags[0]!.body);
  assert.equal(tags[0]!.type, 18);
  assert.equal(metadata.name, "onMetaData");
  assert.deepEqual(Object.fromEntries(metadata.properties), {
    duration: 0,
    width: 1280,
    height: 720,
    videocodecid: 7,
    audiocodecid: 10,
    audiosamplerate: 48000,
    audiosamplesize: 16,
    stereo: true,
  });
  const [video, audio] = [parseTag(tags[1]!), parseTag(tags[2]!)];
  assert.ok(video.type === "config" && toHex(video.config) === toHex(AVCC_720P));
  assert.ok(audio.type === "config" && toHex(audio.config) === toHex(ASC_48K_STEREO));
  assert.deepEqual([tags[1]!.timestampMs, tags[2]!.timestampMs], [0, 0]);

  // Every sample once, in exact decode order across the tracks (video first at equal times).
  const videoSamples = timedSamples(cuts, "video", 90000);
  const audioSamples = timedSamples(cuts, "audio", 48000);
  assert.equal(videoSamples.length, 90);
  assert.ok(audioSamples.length >= 125, `${audioSamples.length} audio samples`);
  const merged: Timed[] = [];
  for (let v = 0, a = 0; v < videoSamples.length || a < audioSamples.length;) {
    const nextAudio = audioSamples[a];
    const nextVideo = videoSamples[v];
    if (nextVideo === undefined || (nextAudio !== undefined && before(nextAudio, nextVideo))) {
      merged.push(nextAudio!);
      a++;
    } else {
      merged.push(nextVideo);
      v++;
    }
  }
  const written = frames(tags);
  assert.equal(written.length, merged.length);
  const origin = videoSamples[0]!; // 1000 / 90000 s, before the audio's 600 / 48000 s
  written.forEach(({ tag, record }, i) => {
    const want = merged[i]!;
    assert.equal(record.kind, want.role, `tag ${i}`);
    assert.equal(toHex(record.data), toHex(want.sample.data), `tag ${i}`);
    assert.equal(tag.timestampMs, expectedMs(want.dtsTicks, want.timescale, origin.dtsTicks, 90000), `tag ${i}`);
    if (record.kind === "video") assert.equal(record.keyframe, want.sample.isSync);
  });
  for (let i = 1; i < tags.length; i++) assert.ok(tags[i]!.timestampMs >= tags[i - 1]!.timestampMs, `tag ${i}`);
  assert.equal(written[0]!.tag.timestampMs, 0);
  assert.equal(frames(tags).find((f) => f.record.kind === "audio")!.tag.timestampMs, 1); // 12.5 - 11.1 ms

  // Written as it went: most of the file came out before flush, and every chunk ends on a tag.
  assert.ok(chunks.at(-1)!.length < file.length / 2, "flush wrote less than half");
  let length = 0;
  for (const chunk of chunks) {
    length += chunk.length;
    assert.equal(flvWholePrefixBytes(file.subarray(0, length)), length);
  }
  const lastVideo = videoSamples.at(-1)!;
  assert.equal(writer.endMs, expectedMs(lastVideo.dtsTicks + lastVideo.sample.durationTicks, 90000, 1000, 90000));
  assert.equal(writer.originMs, 11);
  assert.deepEqual({ ...writer.stats }, { droppedSamples: 0, stalls: 0 });
});

Deno.test("flvWholePrefixBytes of every truncation of a written file is the end of its last whole tag", () => {
  const writer = new FlvWriter({ video: AVC_TRACK, audio: AAC_TRACK });
  const { file } = cutAndWrite(VIDEO_FRAMES.slice(0, 40), AUDIO_FRAMES.slice(0, 60), writer);
  const ends = [13, ...readFlv(file).tags.map((tag) => tag.end)];
  assert.equal(ends.at(-1), file.length);
  let last = 0;
  for (let length = 0; length <= file.length; length++) {
    if (ends.includes(length)) last = length;
    assert.equal(flvWholePrefixBytes(file.subarray(0, length)), last, `cut at ${length}`);
  }
});

/** A fragment cut of `samples` from `startTicks`. */
function fragment(track: "video" | "audio", startTicks: number, samples: Sample[]): FragmentCut {
  return {
    type: "fragment",
    track,
    trackId: track === "video" ? 1 : 2,
    segmentNumber: 1,
    firstOfSegment: true,
    startTicks,
    durationTicks: samples.reduce((n, s) => n + s.durationTicks, 0),
    samples,
  };
}

function videoSamples(count: number, from = 0, durationTicks = 3000): Sample[] {
  return Array.from({ length: count }, (_, i) => ({
    durationTicks,
    ctsOffsetTicks: 0,
    isSync: (from + i) % 30 === 0,
    data: h264Sample(from + i, (from + i) % 30 === 0),
  }));
}

function audioSamples(count: number, from = 0): Sample[] {
  return Array.from({ length: count }, (_, i) => ({
    durationTicks: 1024,
    ctsOffsetTicks: 0,
    isSync: true,
    data: aacFrame(from + i),
  }));
}

Deno.test("FlvWriter holds a track's samples until the other track has reached their decode time", () => {
  const writer = new FlvWriter({ video: AVC_TRACK, audio: AAC_TRACK });
  writer.start();
  // 1 s of video: audio has not started, nothing can go out.
  assert.equal(writer.push(fragment("video", 0, videoSamples(30))).length, 0);
  // Audio up to 21.3 ms (1024 ticks): the video at 0 goes out, and the audio frame at 0 after it.
  const first = readFlvTags(writer.push(fragment("audio", 0, audioSamples(1))));
  assert.deepEqual(first.map((t) => [t.type, t.timestampMs]), [[9, 0], [8, 0]]);
  // Audio up to 1024 ms: everything before it, the rest of the video second (its last frame at 966.7 ms) too.
  const second = readFlvTags(writer.push(fragment("audio", 1024, audioSamples(47, 1))));
  assert.equal(second.filter((t) => t.type === 9).length, 29);
  assert.ok(second.at(-1)!.timestampMs <= 1000);
  // The rest (audio after the video's end) waits for video or the end.
  const rest = readFlvTags(writer.flush());
  assert.ok(rest.length > 0 && rest.every((t) => t.type === 8 && t.timestampMs >= 1000));
});

/** The tags of bytes that hold whole tags only (what push and flush return after start). */
function readFlvTags(bytes: Uint8Array): ReadTag[] {
  return readFlv(concat([bin("'FLV' 01 05 00000009 00000000"), bytes])).tags;
}

Deno.test("with one track, FlvWriter writes each cut's samples at once", () => {
  const writer = new FlvWriter({ audio: MP3_TRACK });
  const head = readFlv(writer.start());
  assert.deepEqual([head.hasAudio, head.hasVideo], [true, false]);
  assert.equal(head.tags.length, 1, "onMetaData only: MP3 has no sequence header");
  const samples = Array.from({ length: 10 }, (_, i) => ({
    durationTicks: 1152,
    ctsOffsetTicks: 0,
    isSync: true,
    data: bin(`fffb9064 ${i.toString(16).padStart(2, "0")}`),
  }));
  const tags = readFlvTags(writer.push(fragment("audio", 44100, samples)));
  assert.deepEqual(tags.map((t) => t.timestampMs), samples.map((_, i) => Math.round((i * 1152 * 1000) / 44100)));
  assert.equal(writer.flush().length, 0);
  assert.equal(writer.endMs, Math.round((10 * 1152 * 1000) / 44100));
  assert.equal(writer.originMs, 1000);
});

Deno.test("FlvWriter writes composition offsets (B-frames, negative ones too) as PTS ms minus DTS ms", () => {
  const writer = new FlvWriter({ video: AVC_TRACK });
  writer.start();
  const offsets = [3003, 9009, 0, -3003, 6006];
  const samples = offsets.map((ctsOffsetTicks, i) => ({ ...videoSamples(1, i, 3003)[0]!, ctsOffsetTicks }));
  const tags = readFlvTags(writer.push(fragment("video", 0, samples)));
  const read = tags.map((tag) => parseTag(tag));
  offsets.forEach((offset, i) => {
    const dtsTicks = i * 3003;
    const record = read[i]!;
    assert.ok(record.type === "frame");
    assert.equal(tags[i]!.timestampMs, Math.round(dtsTicks / 90));
    assert.equal(record.ctsOffsetMs, Math.round((dtsTicks + offset) / 90) - Math.round(dtsTicks / 90), `frame ${i}`);
  });
});

Deno.test("FlvWriter writes timestamps of 2^24 ms and more with the extended byte", () => {
  const writer = new FlvWriter({ video: AVC_TRACK });
  writer.start();
  const laterMs = 2 ** 24 + 1234;
  const tags = readFlvTags(concat([
    writer.push(fragment("video", 90_000, videoSamples(1))),
    writer.push(fragment("video", 90_000 + laterMs * 90, videoSamples(2, 1))),
  ]));
  assert.deepEqual(tags.map((t) => t.timestampMs), [0, laterMs, laterMs + 33]);
  assert.deepEqual(tags.map((t) => (parseTag(t) as { dtsMs: number }).dtsMs), [0, laterMs, laterMs + 33]);
  assert.equal(writer.endMs, laterMs + 67);
});

Deno.test("changeFormat puts the new sequence header right before the track's next sample, with its timestamp", () => {
  const writer = new FlvWriter({ video: AVC_TRACK, audio: AAC_TRACK });
  writer.start();
  const newAvcC = AVCC_720P.map((byte, i) => i === 3 ? 0x28 : byte); // AVCLevelIndication 4.0
  const chunks = [
    writer.push(fragment("video", 0, videoSamples(30))),
    writer.changeFormat(videoTrack("avc1", "avcC", newAvcC)),
    writer.push(fragment("audio", 0, audioSamples(60))),
    writer.push(fragment("video", 90_000, videoSamples(30, 30))),
    writer.changeFormat(HEVC_TRACK),
    writer.push(fragment("video", 180_000, [{ ...videoSamples(1)[0]!, data: toLengthPrefixed([bin("26 01 af")]) }])),
    writer.flush(),
  ];
  assert.equal(chunks[1]!.length, 0);
  const tags = readFlvTags(concat(chunks));
  const records = tags.map((tag) => ({ tag, record: parseTag(tag) }));
  const configs = records.filter(({ record }) => record.type === "config");
  assert.equal(configs.length, 2);
  const [avc, hevc] = configs as [(typeof records)[number], (typeof records)[number]];
  assert.ok(avc.record.type === "config" && toHex(avc.record.config) === toHex(newAvcC));
  assert.equal(avc.tag.timestampMs, 1000);
  const afterAvc = records[records.indexOf(avc) + 1]!;
  assert.ok(afterAvc.record.type === "frame" && afterAvc.record.kind === "video");
  assert.equal(toHex(afterAvc.record.data), toHex(h264Sample(30, true)));
  assert.equal(afterAvc.tag.timestampMs, 1000);
  // Every video frame before it was of the old format; the audio interleaves around it.
  assert.equal(records.slice(0, records.indexOf(avc)).filter((r) => r.record.kind === "video").length, 30);
  assert.ok(hevc.record.type === "config" && hevc.record.codec === "hvc1" && toHex(hevc.record.config) === toHex(HVCC));
  const last = records.at(-1)!;
  assert.ok(last.record.type === "frame" && last.record.codec === "hvc1" && last.tag.timestampMs === 2000);
  assert.equal(records.indexOf(hevc), records.length - 2);
});

Deno.test("a track that stalls longer than maxLagMs stops holding the other back; its late samples are dropped", () => {
  const writer = new FlvWriter({ video: AVC_TRACK, audio: AAC_TRACK }, { maxLagMs: 2000 });
  writer.start();
  const out: Uint8Array[] = [];
  for (let second = 0; second < 3; second++) {
    out.push(writer.push(fragment("video", second * 90_000, videoSamples(30, second * 30))));
  }
  // Audio never started; video reached 3 s: video up to 1 s was written anyway.
  const early = readFlvTags(concat(out));
  assert.deepEqual(early.map((t) => t.timestampMs), videoSamples(31).map((_, i) => Math.round(i * 100 / 3)));
  assert.equal(writer.stats.stalls, 1);
  // Audio arrives from 0: what falls before the video already written is dropped, the rest interleaves.
  out.push(writer.push(fragment("audio", 0, audioSamples(141))));
  out.push(writer.flush());
  assert.equal(writer.stats.droppedSamples, 47); // frames 0-46 start before 1000 ms
  const tags = readFlvTags(concat(out));
  for (let i = 1; i < tags.length; i++) assert.ok(tags[i]!.timestampMs >= tags[i - 1]!.timestampMs, `tag ${i}`);
  assert.equal(tags.filter((t) => t.type === 9).length, 90);
  assert.equal(tags.filter((t) => t.type === 8).length, 141 - 47);
});

Deno.test("FlvWriter refuses, naming it, a sample entry FLV has no tag format for", () => {
  const track: TrackInfo = videoTrack("mp4v", "esds", bin("00000000"));
  assert.throws(() => new FlvWriter({ video: track, audio: AAC_TRACK }), (error: unknown) => {
    assert.ok(error instanceof UnsupportedError);
    assert.match(error.message, /track 1 \(video\): no FLV tag format for sample entry "mp4v"/);
    return true;
  });
});
