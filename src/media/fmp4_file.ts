/**
 * A whole fragmented MP4 file of timed samples (the fMP4 export), written with the recorder's own init and fragment
 * writers: one moov with a trak per track, then each track's samples in fragments of about a second of decode
 * time, a video fragment opening on a sync sample, interleaved in order of their first decode time and numbered 1,
 * 2, 3... across the file. Timing is progressiveMp4's (mp4_file.ts), so both files hold the same samples with
 * the same durations on the same timeline:
 * - Decode times are authoritative: a sample lasts until the next one of its track decodes (its own `durationTicks`
 *   only for the last), so each track's media timeline runs from 0 at its first sample, each fragment's tfdt
 *   continues the previous one's, and a gap stays a gap.
 * - Each track gets progressiveMp4's edit list for `origin`: an empty
 *   edit for a track that starts later, a media_time skipping the head of one that starts earlier (an Opus packet
 *   straddling the keyframe a clip starts at). Edit lists in a fragmented file are allowed (ISO/IEC 14496-12 §8.6.5)
 *   but not honoured everywhere: ffmpeg 5.1 shifts such a head to before 0 instead of trimming it.
 * - A track that changes format (`Mp4Track.sampleEntries`) lists every sample entry in its stsd, and a fragment holds
 *   the samples of one entry only (a new fragment opens where the entry changes, whatever its duration); its tfhd
 *   names that entry by sample_description_index, except for the first entry, which trex names by default
 *   (ISO/IEC 14496-12 §8.8.3, §8.8.7). mp4box.js follows it; ffmpeg 5.1 does not: it ignores the index and decodes
 *   every fragment with the first entry's configuration (fmp4_ffmpeg_test.ts), unlike the same change in a
 *   progressive file, so a caller that wants ffmpeg to play the file had better not ask for it.
 */

import { type Brands, ftyp, moov } from "./boxes.ts";
import { encode } from "./byte_writer.ts";
import { writeFragment } from "./fmp4.ts";
import { compareTimes, type MediaTime } from "./media_time.ts";
import { type EditEntry, edts } from "./mp4_boxes.ts";
import { type Mp4Track, sampleEntriesOf, trackEdits } from "./mp4_file.ts";
import type { SampleWithTime, TrackCodec, TrackInfo } from "./track.ts";
import { assert } from "../shared/assert.ts";
import { BadRequestError } from "../shared/errors.ts";

/** Timescale of the fragmented moov's mvhd (boxes.ts writes 1000), in which edit durations count. */
const MOVIE_TIMESCALE = 1000;

/** Decode time a fragment aims at; a video fragment runs on to its next sync sample. */
const FRAGMENT_DURATION_MS = 1000;

/**
 * Brands of a fragmented export file: ISO BMFF 6th edition (tfdt and trun version 1), ISO base media, MP4 v1
 * (ISO/IEC 14496-12 §4.3); no codec brand, as in the progressive file.
 */
const FRAGMENTED_BRANDS: Brands = { majorBrand: "iso6", minorVersion: 0, compatibleBrands: ["iso6", "isom", "mp41"] };

/**
 * A track as the file holds it: its sample entries, its samples with the durations the file gives them, and its
 * edit list.
 */
interface PlacedTrack {
  info: TrackInfo;
  sampleEntries: readonly TrackCodec[];
  samples: SampleWithTime[];
  edits: EditEntry[];
}

/** One fragment being laid out: samples [first, end) of track `trackIndex`, all of sample entry `sampleEntryIndex`. */
interface PlannedFragment {
  trackIndex: number;
  first: number;
  end: number;
  start: MediaTime;
  /** 0-based, as `SampleWithTime.sampleEntryIndex`. */
  sampleEntryIndex: number;
}

/**
 * A whole fragmented MP4 (ftyp, moov with mvex, then moof + mdat fragments) holding every sample of `tracks` (empty
 * tracks are left out), timed as progressiveMp4 times them with `origin` (a time on the recording timeline) as the
 * file's time 0 (see the file comment). Throws BadRequestError when no track has samples, decode times do not
 * increase, or a track ends before `origin`.
 */
export function fragmentedMp4(tracks: readonly Mp4Track[], origin: MediaTime): Uint8Array {
  const present = tracks.filter((track) => track.samples.length > 0);
  if (present.length === 0) throw new BadRequestError("cannot write an MP4 without samples: every track is empty");
  assert(new Set(present.map((track) => track.info.trackId)).size === present.length, "track IDs must be unique");
  const placed = present.map((track) => placeTrack(track, origin));
  const fragments = placed.flatMap((track, trackIndex) => fragmentsOf(track, trackIndex));
  fragments.sort((a, b) => compareTimes(a.start, b.start) || a.trackIndex - b.trackIndex);
  const editsOf = new Map(placed.map((track) => [track.info.trackId, track.edits]));
  return encode((w) => {
    ftyp(w, FRAGMENTED_BRANDS);
    moov(w, placed.map((track) => ({ ...track.info, sampleEntries: track.sampleEntries })), (info) => {
      const edits = editsOf.get(info.trackId) ?? [];
      if (edits.length > 0) edts(w, edits);
    });
    fragments.forEach((fragment, i) => {
      const track = placed[fragment.trackIndex]!;
      writeFragment(w, {
        sequenceNumber: i + 1,
        trackId: track.info.trackId,
        sampleDescriptionIndex: fragment.sampleEntryIndex + 1,
        baseDecodeTimeTicks: fragment.start.ticks - track.samples[0]!.decodeTimeTicks,
        samples: track.samples.slice(fragment.first, fragment.end),
      });
    });
  });
}

/**
 * A track with each sample lasting until the next one decodes, its checked sample entries, and its edit list for
 * `origin` (which checks that decode times increase).
 */
function placeTrack(track: Mp4Track, origin: MediaTime): PlacedTrack {
  const sampleEntries = sampleEntriesOf(track);
  const edits = trackEdits(track, origin, MOVIE_TIMESCALE);
  const samples = track.samples.map((sample, i): SampleWithTime => {
    const next = track.samples[i + 1];
    return next === undefined ? sample : { ...sample, durationTicks: next.decodeTimeTicks - sample.decodeTimeTicks };
  });
  return { info: track.info, sampleEntries, samples, edits };
}

/**
 * A track's samples cut into fragments of about FRAGMENT_DURATION_MS of decode time, each opening on a sync
 * sample (every Opus packet is one), and where the sample entry changes: a traf names one (§8.8.7).
 */
function fragmentsOf(track: PlacedTrack, trackIndex: number): PlannedFragment[] {
  const timescale = track.info.timescale;
  const fragments: PlannedFragment[] = [];
  let open: PlannedFragment | undefined;
  for (const [i, sample] of track.samples.entries()) {
    const sampleEntryIndex = sample.sampleEntryIndex ?? 0;
    if (
      open === undefined ||
      open.sampleEntryIndex !== sampleEntryIndex ||
      (sample.isSync && (sample.decodeTimeTicks - open.start.ticks) * 1000 >= FRAGMENT_DURATION_MS * timescale)
    ) {
      open = { trackIndex, first: i, end: i, start: { ticks: sample.decodeTimeTicks, timescale }, sampleEntryIndex };
      fragments.push(open);
    }
    open.end = i + 1;
  }
  return fragments;
}
