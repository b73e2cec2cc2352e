/** progressiveMp4: faststart layout, sample tables, chunk interleaving, edit lists and 64-bit offsets, read back by
 * mp4box.js (an independent reader) and checked byte for byte where the layout is ours to decide. */

import assert from "node:assert/strict";
import { BadRequestError } from "../shared/errors.ts";
import { bin, randomBytes, randomInt, seededRandom } from "../shared/testing.ts";
import { layoutProgressiveMp4, type Mp4Track, progressiveMp4, progressiveMp4Parts } from "./mp4_file.ts";
import type { SampleWithTime, TrackInfo } from "./track.ts";
import { AUDIO, avcTrackCodec, parseBox, parseMp4, VIDEO } from "./test_helpers.ts";

const random = seededRandom(5);

/** `count` frames of 30 fps video from `startTicks`, a keyframe every `gop`, random sizes. */
function video(count: number, opts: { startTicks?: number; gop?: number } = {}): SampleWithTime[] {
  const startTicks = opts.startTicks ?? 0;
  const gop = opts.gop ?? 30;
  return Array.from({ length: count }, (_, i) => ({
    decodeTimeTicks: startTicks + i * 3000,
    durationTicks: 3000,
    ctsOffsetTicks: 0,
    isSync: i % gop === 0,
    data: randomBytes(random, randomInt(random, 1, 300)),
  }));
}

/** `count` 20 ms Opus packets from `startTicks`, random sizes. */
function audio(count: number, startTicks = 0): SampleWithTime[] {
  return Array.from({ length: count }, (_, i) => ({
    decodeTimeTicks: startTicks + i * 960,
    durationTicks: 960,
    ctsOffsetTicks: 0,
    isSync: true,
    data: randomBytes(random, randomInt(random, 1, 100)),
  }));
}

/** Types of the top-level boxes of a file. */
function topLevel(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: string[] = [];
  for (let at = 0; at + 8 <= bytes.byteLength;) {
    const size32 = view.getUint32(at);
    types.push(String.fromCharCode(...bytes.subarray(at + 4, at + 8)));
    at += size32 === 1 ? view.getUint32(at + 8) * 0x1_0000_0000 + view.getUint32(at + 12) : size32;
  }
  return types;
}

/** The sample table and edit list of track `index` as mp4box.js parsed them. */
function boxesOf(bytes: Uint8Array, index: number) {
  const trak = parseMp4(bytes).file.moov?.traks[index];
  assert.ok(trak !== undefined, `track ${index}`);
  return { trak, stbl: trak.mdia.minf.stbl, elst: trak.edts?.elst?.entries };
}

Deno.test("progressiveMp4 writes ftyp, moov, mdat in that order and mp4box.js reads every sample back", () => {
  const tracks = [{ info: VIDEO, samples: video(90) }, { info: AUDIO, samples: audio(150) }];
  const bytes = progressiveMp4(tracks);
  assert.deepEqual(topLevel(bytes), ["ftyp", "moov", "mdat"]);
  const { info, samples } = parseMp4(bytes);
  assert.deepEqual(
    { fragmented: info.isFragmented, progressive: info.isProgressive, brands: info.brands },
    { fragmented: false, progressive: true, brands: ["isom", "isom", "iso2", "mp41"] },
  );
  assert.deepEqual({ timescale: info.timescale, duration: info.duration }, { timescale: 1000, duration: 3000 });
  assert.deepEqual(
    info.tracks.map((t) => [t.id, t.codec, t.timescale, t.duration, t.movie_duration, t.nb_samples]),
    [[1, "avc1.42c01f", 90000, 270000, 3000, 90], [2, "Opus", 48000, 144000, 3000, 150]],
  );
  for (const [trackId, input] of [[1, tracks[0]?.samples], [2, tracks[1]?.samples]] as const) {
    assert.deepEqual(
      (samples.get(trackId) ?? []).map((s) => [s.dts, s.cts, s.duration, s.is_sync, s.data]),
      (input ?? []).map((s) => [s.decodeTimeTicks, s.decodeTimeTicks, s.durationTicks, s.isSync, s.data]),
      `track ${trackId}`,
    );
  }
});

Deno.test("stss lists the keyframes; audio and all-keyframe video get none", () => {
  const bytes = progressiveMp4([{ info: VIDEO, samples: video(75) }, { info: AUDIO, samples: audio(20) }]);
  assert.deepEqual(boxesOf(bytes, 0).stbl.stss?.sample_numbers, [1, 31, 61]);
  assert.equal(boxesOf(bytes, 1).stbl.stss, undefined);
  const intra = progressiveMp4([{ info: VIDEO, samples: video(5, { gop: 1 }) }]);
  assert.equal(boxesOf(intra, 0).stbl.stss, undefined);
  assert.deepEqual(parseMp4(intra).samples.get(1)?.map((s) => s.is_sync), [true, true, true, true, true]);
});

Deno.test("chunks hold a second of each track, interleaved by decode time, at the offsets stco gives", () => {
  const tracks = [{ info: VIDEO, samples: video(80) }, { info: AUDIO, samples: audio(140) }];
  const layout = layoutProgressiveMp4(tracks);
  assert.deepEqual(
    layout.chunks.map((c) => [c.trackIndex, c.firstSample, c.sampleCount]),
    [[0, 0, 30], [1, 0, 50], [0, 30, 30], [1, 50, 50], [0, 60, 20], [1, 100, 40]],
  );
  const bytes = progressiveMp4(tracks);
  assert.equal(bytes.byteLength, layout.sizeBytes);
  const video0 = boxesOf(bytes, 0).stbl;
  const audio0 = boxesOf(bytes, 1).stbl;
  assert.deepEqual(
    [video0.stsc.first_chunk, video0.stsc.samples_per_chunk, video0.stsc.sample_description_index],
    [[1, 3], [30, 20], [1, 1]],
  );
  assert.deepEqual([audio0.stsc.first_chunk, audio0.stsc.samples_per_chunk], [[1, 3], [50, 40]]);
  // The first sample of every chunk sits at its chunk offset, and the chunks tile the mdat payload in file order.
  const offsets = [...video0.stco.chunk_offsets, ...audio0.stco.chunk_offsets].sort((a, b) => a - b);
  assert.equal(offsets[0], layout.header.byteLength);
  layout.chunks.forEach((chunk, k) => {
    const sample = tracks[chunk.trackIndex]?.samples[chunk.firstSample];
    const offset = offsets[k] ?? -1;
    assert.ok(sample !== undefined);
    assert.deepEqual(bytes.subarray(offset, offset + sample.data.byteLength), sample.data, `chunk ${k}`);
  });
});

/** A second H.264 format of VIDEO's track: 640x360 Main profile (a small avcC; the bytes are never decoded). */
const VIDEO_360P = avcTrackCodec(bin("01 4d401e ff e1 0001 67 01 0001 68"), 640, 360);

/** `samples` with sample entry `index` from sample `from` on (0-based, as `sampleEntryIndex`). */
function withEntries(samples: SampleWithTime[], changes: [from: number, index: number][]): SampleWithTime[] {
  return samples.map((sample, i) => {
    const change = changes.findLast(([from]) => from <= i);
    return { ...sample, sampleEntryIndex: change?.[1] ?? 0 };
  });
}

Deno.test("a track that changes format lists each sample entry once, cuts chunks at a change, stsc names them", () => {
  // 720p for 1.5 s, 360p for 1 s, 720p again for 0.5 s; keyframes every 0.5 s, so each change is at one.
  const videoSamples = withEntries(video(90, { gop: 15 }), [[0, 0], [45, 1], [75, 0]]);
  const tracks: Mp4Track[] = [
    { info: VIDEO, sampleEntries: [VIDEO.codec, VIDEO_360P], samples: videoSamples },
    { info: AUDIO, samples: audio(150) },
  ];
  const layout = layoutProgressiveMp4(tracks);
  assert.deepEqual(
    layout.chunks.filter((c) => c.trackIndex === 0).map((c) => [c.firstSample, c.sampleCount]),
    [[0, 30], [30, 15], [45, 30], [75, 15]],
    "a chunk per second, and a new one at each change of entry",
  );
  const bytes = progressiveMp4(tracks);
  const { stbl, trak } = boxesOf(bytes, 0);
  const entries = stbl.stsd.entries as unknown as { type: string; width: number; height: number }[];
  assert.deepEqual(entries.map((e) => [e.type, e.width, e.height]), [["avc1", 1280, 720], ["avc1", 640, 360]]);
  assert.deepEqual(
    [stbl.stsc.first_chunk, stbl.stsc.samples_per_chunk, stbl.stsc.sample_description_index],
    [[1, 2, 3, 4], [30, 15, 30, 15], [1, 1, 2, 1]],
  );
  assert.deepEqual([trak.tkhd.width, trak.tkhd.height], [640 * 0x1_0000, 360 * 0x1_0000], "the last entry's size");
  const audioTables = boxesOf(bytes, 1).stbl;
  assert.equal(audioTables.stsd.entries.length, 1);
  assert.ok(audioTables.stsc.sample_description_index.every((index) => index === 1));

  // Every sample reads back with its own entry and bytes.
  const read = parseMp4(bytes).samples.get(1) ?? [];
  assert.deepEqual(read.map((s) => s.description_index), videoSamples.map((s) => s.sampleEntryIndex));
  assert.deepEqual(read.map((s) => s.data), videoSamples.map((s) => s.data));
});

Deno.test("sample entries not starting with info.codec, of mixed kinds, or missing for a sample are bugs", () => {
  const samples = video(3);
  const cases: [Mp4Track, RegExp][] = [
    [{ info: VIDEO, sampleEntries: [VIDEO_360P, VIDEO.codec], samples }, /first sample entry must be info.codec/],
    [{ info: VIDEO, sampleEntries: [VIDEO.codec, AUDIO.codec], samples }, /every sample entry must be video/],
    [{ info: VIDEO, sampleEntries: [VIDEO.codec], samples: withEntries(samples, [[2, 1]]) }, /sample 2 names no/],
    [{ info: VIDEO, samples: withEntries(samples, [[0, -1]]) }, /sample 0 names no sample entry of 1/],
  ];
  for (const [track, message] of cases) assert.throws(() => progressiveMp4([track]), message);
});

Deno.test("stts run-length codes decode-time deltas, so a gap between recordings stays a gap", () => {
  const before = video(10);
  const after = video(10, { startTicks: 10 * 3000 + 90000 });
  const bytes = progressiveMp4([{ info: VIDEO, samples: [...before, ...after] }]);
  const { stbl, trak } = boxesOf(bytes, 0);
  assert.deepEqual([stbl.stts.sample_counts, stbl.stts.sample_deltas], [[9, 1, 10], [3000, 93000, 3000]]);
  assert.deepEqual(
    parseMp4(bytes).samples.get(1)?.map((s) => s.dts),
    [...before, ...after].map((s) => s.decodeTimeTicks),
  );
  assert.equal(trak.mdia.mdhd.duration, 20 * 3000 + 90000);
});

Deno.test("ctts appears only with composition offsets, in version 1 when one is negative", () => {
  assert.equal(boxesOf(progressiveMp4([{ info: VIDEO, samples: video(4) }]), 0).stbl.ctts, undefined);
  const samples = video(4).map((s, i) => ({ ...s, ctsOffsetTicks: [3000, 3000, -3000, 0][i] ?? 0 }));
  const bytes = progressiveMp4([{ info: VIDEO, samples }]);
  const { ctts } = boxesOf(bytes, 0).stbl;
  assert.deepEqual([ctts.version, ctts.sample_counts, ctts.sample_offsets], [1, [2, 1, 1], [3000, -3000, 0]]);
  assert.deepEqual(parseMp4(bytes).samples.get(1)?.map((s) => s.cts), [3000, 6000, 3000, 9000]);
});

Deno.test("audio starting after the video gets an empty edit for the difference; the video gets no edts", () => {
  const bytes = progressiveMp4([
    { info: VIDEO, samples: video(60, { startTicks: 900_000 }) }, // 10 s into the recording
    { info: AUDIO, samples: audio(50, 504_000) }, // 10.5 s
  ]);
  assert.equal(boxesOf(bytes, 0).elst, undefined);
  assert.deepEqual(
    boxesOf(bytes, 1).elst?.map((e) => [e.segment_duration, e.media_time]),
    [[500, -1], [1000, 0]],
  );
  const { info } = parseMp4(bytes);
  assert.equal(info.duration, 2000);
  assert.deepEqual(info.tracks.map((t) => t.movie_duration), [2000, 1500]);
});

Deno.test("a track starting before the origin gets an edit that skips its head", () => {
  // Audio from 9.99 s, video and the origin at 10 s: the first 10 ms (480 ticks) of audio are edited out.
  const bytes = progressiveMp4(
    [{ info: VIDEO, samples: video(30, { startTicks: 900_000 }) }, { info: AUDIO, samples: audio(50, 479_520) }],
    { origin: { ticks: 10, timescale: 1 } },
  );
  assert.equal(boxesOf(bytes, 0).elst, undefined);
  assert.deepEqual(boxesOf(bytes, 1).elst?.map((e) => [e.segment_duration, e.media_time]), [[990, 480]]);
  // By default the earliest track is the origin: then the video waits 10 ms instead.
  const byDefault = progressiveMp4([
    { info: VIDEO, samples: video(30, { startTicks: 900_000 }) },
    { info: AUDIO, samples: audio(50, 479_520) },
  ]);
  assert.deepEqual(boxesOf(byDefault, 0).elst?.map((e) => [e.segment_duration, e.media_time]), [[10, -1], [1000, 0]]);
  assert.equal(boxesOf(byDefault, 1).elst, undefined);
});

Deno.test("tracks without samples are left out; no samples at all, or decode times that do not increase, throw", () => {
  const { info } = parseMp4(progressiveMp4([{ info: VIDEO, samples: video(3) }, { info: AUDIO, samples: [] }]));
  assert.deepEqual(info.tracks.map((t) => t.id), [1]);
  assert.throws(() => progressiveMp4([{ info: VIDEO, samples: [] }]), BadRequestError);
  const backwards = video(3);
  backwards.reverse();
  assert.throws(() => progressiveMp4([{ info: VIDEO, samples: backwards }]), /decode times must increase/);
  assert.throws(
    () => progressiveMp4([{ info: VIDEO, samples: video(3) }], { origin: { ticks: 1, timescale: 1 } }),
    /ends before the export origin/,
  );
});

Deno.test("progressiveMp4Parts streams the same file: the header, then the samples' own bytes uncopied", () => {
  const tracks = [{ info: VIDEO, samples: video(40) }, { info: AUDIO, samples: audio(70) }];
  const parts = progressiveMp4Parts(tracks);
  const whole = progressiveMp4(tracks);
  assert.equal(parts.reduce((n, p) => n + p.byteLength, 0), whole.byteLength);
  let offset = 0;
  for (const part of parts) {
    assert.deepEqual(whole.subarray(offset, offset + part.byteLength), part);
    offset += part.byteLength;
  }
  const inputs = new Set(tracks.flatMap((t) => t.samples.map((s) => s.data)));
  assert.ok(parts.slice(1).every((part) => inputs.has(part)));
});

Deno.test("offsets past 4 GiB switch every track to co64 and the mdat to a 64-bit largesize", () => {
  const GIB = 1024 * 1024 * 1024;
  /** Samples that are only sizes: the layout never touches sample bytes. */
  const huge = (count: number, info: TrackInfo, ticks: number, sizeBytes = 1.5 * GIB): Mp4Track<SampleWithTime> => ({
    info,
    samples: Array.from({ length: count }, (_, i) => ({
      decodeTimeTicks: i * ticks,
      durationTicks: ticks,
      ctsOffsetTicks: 0,
      isSync: true,
      data: { byteLength: sizeBytes } as Uint8Array,
    })),
  });
  const layout = layoutProgressiveMp4([huge(3, VIDEO, 90000), huge(2, AUDIO, 48000)]);
  const ftypBytes = new DataView(layout.header.buffer).getUint32(0);
  const moovBytes = new DataView(layout.header.buffer).getUint32(ftypBytes);
  assert.equal(layout.header.byteLength, ftypBytes + moovBytes + 16, "16-byte mdat header");
  assert.deepEqual(
    [...layout.header.subarray(ftypBytes + moovBytes)],
    [0, 0, 0, 1, 0x6d, 0x64, 0x61, 0x74, 0, 0, 0, 1, 0xe0, 0, 0, 0x10],
    "largesize = 16 + 7.5 GiB",
  );
  const moov = parseBox(layout.header.subarray(ftypBytes, ftypBytes + moovBytes)) as unknown as {
    traks: { mdia: { minf: { stbl: { stco?: unknown; co64?: { chunk_offsets: number[] } } } } }[];
  };
  const start = layout.header.byteLength;
  // Chunk order: v0 a0 v1 a1 v2, one 1.5 GiB sample each.
  assert.deepEqual(moov.traks.map((t) => t.mdia.minf.stbl.co64?.chunk_offsets), [
    [start, start + 3 * GIB, start + 6 * GIB],
    [start + 1.5 * GIB, start + 4.5 * GIB],
  ]);
  assert.ok(moov.traks.every((t) => t.mdia.minf.stbl.stco === undefined));
  assert.equal(layout.sizeBytes, start + 7.5 * GIB);
  // A 5 GiB file whose last chunk still starts below 4 GiB keeps stco; only the mdat needs a largesize.
  const small = layoutProgressiveMp4([huge(2, VIDEO, 90000, 2.5 * GIB)]);
  const smallFtyp = new DataView(small.header.buffer).getUint32(0);
  const smallMoov = parseBox(small.header.subarray(smallFtyp, small.header.byteLength - 16)) as unknown as {
    traks: { mdia: { minf: { stbl: { stco?: { chunk_offsets: number[] } } } } }[];
  };
  assert.deepEqual(smallMoov.traks[0]?.mdia.minf.stbl.stco?.chunk_offsets, [
    small.header.byteLength,
    small.header.byteLength + 2.5 * GIB,
  ]);
});
