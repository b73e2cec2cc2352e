/**
 * fragmentedMp4 with a track that changes format: the moov lists every sample entry, a fragment holds one entry's
 * samples, and its tfhd names the entry unless it is trex's default. Read back by mp4box.js and by a box walker
 * here that knows nothing of our readers.
 */

import assert from "node:assert/strict";
import { bin, randomBytes, randomInt, seededRandom } from "../shared/testing.ts";
import { fragmentedMp4 } from "./fmp4_file.ts";
import type { Mp4Track } from "./mp4_file.ts";
import type { SampleWithTime } from "./track.ts";
import { AUDIO, avcTrackCodec, parseMp4, VIDEO } from "./test_helpers.ts";

const random = seededRandom(11);

/** A second H.264 format of VIDEO's track: 640x360 Main profile (a small avcC; the bytes are never decoded). */
const VIDEO_360P = avcTrackCodec(bin("01 4d401e ff e1 0001 67 01 0001 68"), 640, 360);

/** 30 fps video, a keyframe every `gop`, with sample entry `index` from sample `from` on, for each change. */
function video(count: number, gop: number, changes: [from: number, index: number][]): SampleWithTime[] {
  return Array.from({ length: count }, (_, i) => ({
    decodeTimeTicks: i * 3000,
    durationTicks: 3000,
    ctsOffsetTicks: 0,
    isSync: i % gop === 0,
    data: randomBytes(random, randomInt(random, 1, 200)),
    sampleEntryIndex: changes.findLast(([from]) => from <= i)?.[1] ?? 0,
  }));
}

/** What a tfhd says (ISO/IEC 14496-12 §8.8.7): its flags, track, and sample_description_index when present. */
interface TrackFragmentHeader {
  flags: number;
  trackId: number;
  sampleDescriptionIndex?: number;
}

/** The boxes back to back in bytes [start, end): type and body range (32-bit sizes only, as our writers make). */
function boxes(bytes: Uint8Array, start: number, end: number): { type: string; body: number; end: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = [];
  for (let at = start; at + 8 <= end; at += view.getUint32(at)) {
    found.push({
      type: String.fromCharCode(...bytes.subarray(at + 4, at + 8)),
      body: at + 8,
      end: at + view.getUint32(at),
    });
  }
  return found;
}

/** The tfhd of every moof's traf, in file order. */
function trackFragmentHeaders(bytes: Uint8Array): TrackFragmentHeader[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const child = (box: { body: number; end: number }, type: string) => {
    const found = boxes(bytes, box.body, box.end).find((b) => b.type === type);
    assert.ok(found !== undefined, `a ${type}`);
    return found;
  };
  return boxes(bytes, 0, bytes.byteLength).filter((box) => box.type === "moof").map((moof) => {
    const tfhd = child(child(moof, "traf"), "tfhd");
    const flags = view.getUint32(tfhd.body) & 0xff_ffff;
    const header: TrackFragmentHeader = { flags, trackId: view.getUint32(tfhd.body + 4) };
    if (flags & 0x000001) throw new Error("unexpected base_data_offset");
    if (flags & 0x000002) header.sampleDescriptionIndex = view.getUint32(tfhd.body + 8);
    return header;
  });
}

Deno.test("fragmentedMp4 lists a track's sample entries in stsd and names the second in its fragments' tfhd", () => {
  // 720p for 1.5 s, 360p for 1 s, 720p again for 0.5 s; keyframes every 0.5 s, so each change is at one.
  const videoSamples = video(90, 15, [[0, 0], [45, 1], [75, 0]]);
  const tracks: Mp4Track[] = [{ info: VIDEO, sampleEntries: [VIDEO.codec, VIDEO_360P], samples: videoSamples }];
  const bytes = fragmentedMp4(tracks, { ticks: 0, timescale: 90000 });

  // Fragments of about a second from a keyframe, and a new one at each change of entry: 30, 15 | 30 | 15 frames.
  assert.deepEqual(trackFragmentHeaders(bytes), [
    { flags: 0x020000, trackId: 1 },
    { flags: 0x020000, trackId: 1 },
    { flags: 0x020002, trackId: 1, sampleDescriptionIndex: 2 },
    { flags: 0x020000, trackId: 1 },
  ]);

  const { file, samples, info } = parseMp4(bytes);
  assert.ok(info.isFragmented);
  const trak = file.moov?.traks[0];
  const entries = trak?.mdia.minf.stbl.stsd.entries as unknown as { type: string; width: number; height: number }[];
  assert.deepEqual(entries.map((e) => [e.type, e.width, e.height]), [["avc1", 1280, 720], ["avc1", 640, 360]]);
  assert.deepEqual([trak?.tkhd.width, trak?.tkhd.height], [640 * 0x1_0000, 360 * 0x1_0000], "the last entry's size");
  assert.equal(file.moov?.mvex?.trexs[0]?.default_sample_description_index, 1);
  const read = samples.get(1) ?? [];
  assert.deepEqual(read.map((s) => s.description_index), videoSamples.map((s) => s.sampleEntryIndex));
  assert.deepEqual(read.map((s) => s.data), videoSamples.map((s) => s.data));
  const fragmentStarts = read.flatMap((s, i) => s.number_in_traf === 0 ? [i] : []);
  assert.deepEqual(fragmentStarts, [0, 30, 45, 75], "mp4box.js sees the same fragments");
});

Deno.test("fragmentedMp4 of a track with one sample entry writes no sample_description_index", () => {
  const audio: SampleWithTime[] = Array.from({ length: 100 }, (_, i) => ({
    decodeTimeTicks: i * 960,
    durationTicks: 960,
    ctsOffsetTicks: 0,
    isSync: true,
    data: randomBytes(random, 20),
  }));
  const bytes = fragmentedMp4([{ info: AUDIO, samples: audio }], { ticks: 0, timescale: 48000 });
  const headers = trackFragmentHeaders(bytes);
  assert.equal(headers.length, 2);
  assert.ok(headers.every((h) => h.flags === 0x020000 && h.sampleDescriptionIndex === undefined));
});
