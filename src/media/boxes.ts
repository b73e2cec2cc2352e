/**
 * ISO BMFF box writers for fragmented MP4 (ISO/IEC 14496-12:2022), one function per fourcc, each writing one spec
 * field per line into a ByteWriter. Only what a single-track CMAF init and media segment needs, and a moov of several
 * tracks for a fragmented export file (whose edit lists mp4_boxes.ts writes), a track of which may have several
 * sample entries that its fragments name in tfhd: no sidx, no sample groups, no encryption. Codec configuration
 * records (avcC, dOps) are copied, never parsed. The headers take durations and the mdat header stands alone so that
 * mp4_boxes.ts reuses them for progressive files.
 */

import type { ByteWriter } from "./byte_writer.ts";
import type { SampleEntry } from "../codec/mod.ts";
import type { Sample, TrackCodec, TrackInfo } from "./track.ts";

/** Largest value of an unsigned 32-bit field; beyond it a header needs version 1 and 64-bit fields. */
export const U32_MAX = 0xffff_ffff;

/** Identity transformation matrix of mvhd and tkhd (ISO/IEC 14496-12 §6.2.2), 16.16 and 2.30 fixed point. */
const UNITY_MATRIX = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] as const;

/** ISO-639-2/T "und" packed as three 5-bit letters (ISO/IEC 14496-12 §8.4.2.3). */
const LANGUAGE_UND = ((0x75 - 0x60) << 10) | ((0x6e - 0x60) << 5) | (0x64 - 0x60);

/** tkhd flags track_enabled | track_in_movie (ISO/IEC 14496-12 §8.3.2.3). */
const TKHD_FLAGS = 0x000003;

/** tfhd flag default-base-is-moof: data offsets count from the first byte of the moof (ISO/IEC 14496-12 §8.8.7.1). */
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

/** tfhd flag sample-description-index-present: the fragment names its stsd entry (ISO/IEC 14496-12 §8.8.7.1). */
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;

/** trun flags: data-offset, sample-duration, sample-size, sample-flags, sample-composition-time-offsets present. */
const TRUN_FLAGS = 0x000001 | 0x000100 | 0x000200 | 0x000400 | 0x000800;

/** Sample flags of a sync sample: sample_depends_on = 2, "does not depend on others" (ISO/IEC 14496-12 §8.8.3.1). */
const SAMPLE_FLAGS_SYNC = 2 << 24;

/** Sample flags of a non-sync sample: sample_depends_on = 1 and sample_is_non_sync_sample = 1 (§8.8.3.1). */
const SAMPLE_FLAGS_NON_SYNC = (1 << 24) | (1 << 16);

/** Brands of a file-type or segment-type box (ISO/IEC 14496-12 §4.3 and §8.16.2). */
export interface Brands {
  majorBrand: string;
  minorVersion: number;
  compatibleBrands: readonly string[];
}

/** File type box: brands the init segment conforms to (ISO/IEC 14496-12 §4.3). */
export function ftyp(w: ByteWriter, input: Brands): void {
  w.box("ftyp", () => brands(w, input));
}

/** Segment type box: brands a media segment conforms to, same layout as ftyp (ISO/IEC 14496-12 §8.16.2). */
export function styp(w: ByteWriter, input: Brands): void {
  w.box("styp", () => brands(w, input));
}

/** The body shared by ftyp and styp. */
function brands(w: ByteWriter, input: Brands): void {
  w.fourcc(input.majorBrand); // major_brand
  w.u32(input.minorVersion); // minor_version
  for (const brand of input.compatibleBrands) w.fourcc(brand); // compatible_brands[]
}

/** A field that is 64-bit in a version 1 header and 32-bit in version 0 (mvhd, tkhd, mdhd: §8.2.2, §8.3.2, §8.4.2). */
function u32or64(w: ByteWriter, version: number, value: number): void {
  if (version === 1) w.u64(value);
  else w.u32(value);
}

/**
 * A track with its sample entries: a CMAF header's one (`codec`), or for an export file whose track changes format,
 * every one in stsd order, `codec` first (ISO/IEC 14496-12 §8.5.2).
 */
export interface TrackWithEntries extends TrackInfo {
  sampleEntries?: readonly TrackCodec[];
}

/**
 * Movie box of a fragmented file: header, a trak per track (one in a CMAF header), and mvex announcing fragments
 * (ISO/IEC 14496-12 §8.2.1). `edts`, when given, writes a track's edit list box, if it has one (mp4_boxes.ts has
 * the writer), between its header and media.
 */
export function moov(w: ByteWriter, tracks: readonly TrackWithEntries[], edts?: (track: TrackInfo) => void): void {
  w.box("moov", () => {
    mvhd(w, { timescale: 1000, nextTrackId: Math.max(0, ...tracks.map((track) => track.trackId)) + 1 });
    for (const track of tracks) trak(w, track, edts);
    mvex(w, tracks.map((track) => track.trackId));
  });
}

/**
 * Movie header; duration 0 (the default) when the samples live in fragments, else the presentation duration in
 * `timescale` ticks; version 1 only when it does not fit 32 bits (ISO/IEC 14496-12 §8.2.2).
 */
export function mvhd(
  w: ByteWriter,
  input: { timescale: number; nextTrackId: number; durationTicks?: number },
): void {
  const durationTicks = input.durationTicks ?? 0;
  const version = durationTicks > U32_MAX ? 1 : 0;
  w.fullBox("mvhd", version, 0, () => {
    u32or64(w, version, 0); // creation_time
    u32or64(w, version, 0); // modification_time
    w.u32(input.timescale); // timescale
    u32or64(w, version, durationTicks); // duration
    w.u32(0x0001_0000); // rate, 1.0
    w.u16(0x0100); // volume, 1.0
    w.zeros(2); // reserved
    w.zeros(8); // reserved[2]
    for (const value of UNITY_MATRIX) w.u32(value); // matrix
    w.zeros(24); // pre_defined[6]
    w.u32(input.nextTrackId); // next_track_ID
  });
}

/** Track box: header, the edit list `edts` writes if any, and media (ISO/IEC 14496-12 §8.3.1). */
export function trak(w: ByteWriter, track: TrackWithEntries, edts?: (track: TrackInfo) => void): void {
  w.box("trak", () => {
    tkhd(w, track);
    edts?.(track);
    mdia(w, track);
  });
}

/**
 * Track header; `durationTicks` in the movie timescale, 0 (the default) in a fragmented file; version 1 only when
 * it needs 64 bits (ISO/IEC 14496-12 §8.3.2). Width and height are 0 for audio, else the last sample entry's (the
 * one entry's, but for a track that changes format see mp4_file.ts on why the last).
 */
export function tkhd(w: ByteWriter, track: TrackWithEntries, durationTicks = 0): void {
  const entries = track.sampleEntries ?? [track.codec];
  const codec = entries[entries.length - 1] ?? track.codec;
  const isAudio = codec.kind === "audio";
  const version = durationTicks > U32_MAX ? 1 : 0;
  w.fullBox("tkhd", version, TKHD_FLAGS, () => {
    u32or64(w, version, 0); // creation_time
    u32or64(w, version, 0); // modification_time
    w.u32(track.trackId); // track_ID
    w.zeros(4); // reserved
    u32or64(w, version, durationTicks); // duration
    w.zeros(8); // reserved[2]
    w.i16(0); // layer
    w.i16(0); // alternate_group
    w.i16(isAudio ? 0x0100 : 0); // volume, 1.0 for audio
    w.zeros(2); // reserved
    for (const value of UNITY_MATRIX) w.u32(value); // matrix
    w.fixed16_16(isAudio ? 0 : codec.widthPx); // width
    w.fixed16_16(isAudio ? 0 : codec.heightPx); // height
  });
}

/** Media box: header, handler and media information (ISO/IEC 14496-12 §8.4.1). */
export function mdia(w: ByteWriter, track: TrackWithEntries): void {
  w.box("mdia", () => {
    mdhd(w, track.timescale);
    hdlr(w, track.codec.kind === "video" ? "vide" : "soun");
    minf(w, track);
  });
}

/**
 * Media header: the track timescale every tick count refers to, and the media's duration in it, 0 (the default)
 * in a fragmented file; version 1 only when it needs 64 bits (ISO/IEC 14496-12 §8.4.2).
 */
export function mdhd(w: ByteWriter, timescale: number, durationTicks = 0): void {
  const version = durationTicks > U32_MAX ? 1 : 0;
  w.fullBox("mdhd", version, 0, () => {
    u32or64(w, version, 0); // creation_time
    u32or64(w, version, 0); // modification_time
    w.u32(timescale); // timescale
    u32or64(w, version, durationTicks); // duration
    w.u16(LANGUAGE_UND); // pad(1) + language(15)
    w.u16(0); // pre_defined
  });
}

/** Handler reference: "vide" or "soun" (ISO/IEC 14496-12 §8.4.3). */
export function hdlr(w: ByteWriter, handlerType: "vide" | "soun"): void {
  const name = handlerType === "vide" ? "VideoHandler" : "SoundHandler";
  w.fullBox("hdlr", 0, 0, () => {
    w.u32(0); // pre_defined
    w.fourcc(handlerType); // handler_type
    w.zeros(12); // reserved[3]
    for (let i = 0; i < name.length; i++) w.u8(name.charCodeAt(i)); // name, ASCII
    w.u8(0); // name terminator
  });
}

/** Media information box: media header, data information, sample table (ISO/IEC 14496-12 §8.4.4). */
export function minf(w: ByteWriter, track: TrackWithEntries): void {
  w.box("minf", () => {
    if (track.codec.kind === "video") vmhd(w);
    else smhd(w);
    dinf(w);
    stbl(w, track);
  });
}

/** Video media header; flags must be 1 (ISO/IEC 14496-12 §12.1.2). */
export function vmhd(w: ByteWriter): void {
  w.fullBox("vmhd", 0, 1, () => {
    w.u16(0); // graphicsmode, copy
    w.zeros(6); // opcolor[3]
  });
}

/** Sound media header (ISO/IEC 14496-12 §12.2.2). */
export function smhd(w: ByteWriter): void {
  w.fullBox("smhd", 0, 0, () => {
    w.i16(0); // balance, centre
    w.zeros(2); // reserved
  });
}

/** Data information box holding the data reference (ISO/IEC 14496-12 §8.7.1). */
export function dinf(w: ByteWriter): void {
  w.box("dinf", () => dref(w));
}

/** Data reference with one self-contained "url " entry: media data is in this file (ISO/IEC 14496-12 §8.7.2). */
export function dref(w: ByteWriter): void {
  w.fullBox("dref", 0, 0, () => {
    w.u32(1); // entry_count
    w.fullBox("url ", 0, 0x000001, () => {}); // flags 1: media data in the same file, no location
  });
}

/** Sample table with the track's sample entries and empty tables: the samples live in fragments (§8.5.1). */
export function stbl(w: ByteWriter, track: TrackWithEntries): void {
  w.box("stbl", () => {
    stsd(w, track.sampleEntries ?? [track.codec]);
    w.fullBox("stts", 0, 0, () => w.u32(0)); // entry_count (§8.6.1.2)
    w.fullBox("stsc", 0, 0, () => w.u32(0)); // entry_count (§8.7.4)
    w.fullBox("stsz", 0, 0, () => {
      w.u32(0); // sample_size (§8.7.3)
      w.u32(0); // sample_count
    });
    w.fullBox("stco", 0, 0, () => w.u32(0)); // entry_count (§8.7.5)
  });
}

/**
 * Sample description: the track's sample entries, which samples name by 1-based sample_description_index (in stsc,
 * tfhd or trex); one unless the track changes format (ISO/IEC 14496-12 §8.5.2).
 */
export function stsd(w: ByteWriter, entries: readonly TrackCodec[]): void {
  w.fullBox("stsd", 0, 0, () => {
    w.u32(entries.length); // entry_count
    for (const codec of entries) {
      if (codec.kind === "video") visualSampleEntry(w, codec);
      else audioSampleEntry(w, codec);
    }
  });
}

/**
 * Visual sample entry (ISO/IEC 14496-12 §12.1.3) of the codec's type (`avc1`, `hvc1`, `vp09`, ...) holding its
 * configuration box (ISO/IEC 14496-15 §5.4.2.1, §8.4.1; VP codec binding §2.2; AV1 binding §2.2).
 */
export function visualSampleEntry(
  w: ByteWriter,
  input: { sampleEntry: SampleEntry; widthPx: number; heightPx: number },
): void {
  w.box(input.sampleEntry.fourcc, () => {
    w.zeros(6); // SampleEntry reserved[6]
    w.u16(1); // data_reference_index
    w.u16(0); // pre_defined
    w.zeros(2); // reserved
    w.zeros(12); // pre_defined[3]
    w.u16(input.widthPx); // width
    w.u16(input.heightPx); // height
    w.u32(0x0048_0000); // horizresolution, 72 dpi
    w.u32(0x0048_0000); // vertresolution, 72 dpi
    w.zeros(4); // reserved
    w.u16(1); // frame_count
    w.zeros(32); // compressorname, empty Pascal string
    w.u16(0x0018); // depth, colour without alpha
    w.i16(-1); // pre_defined
    configBox(w, input.sampleEntry);
  });
}

/** Audio sample entry (ISO/IEC 14496-12 §12.2.3) of the codec's type (`Opus`, `mp4a`) holding its configuration box. */
export function audioSampleEntry(
  w: ByteWriter,
  input: { sampleEntry: SampleEntry; channels: number; sampleRate: number },
): void {
  w.box(input.sampleEntry.fourcc, () => {
    w.zeros(6); // SampleEntry reserved[6]
    w.u16(1); // data_reference_index
    w.zeros(8); // reserved[2]
    w.u16(input.channels); // channelcount
    w.u16(16); // samplesize
    w.u16(0); // pre_defined
    w.zeros(2); // reserved
    w.u32(input.sampleRate * 0x1_0000); // samplerate, 16.16
    configBox(w, input.sampleEntry);
  });
}

/** The decoder configuration box (`avcC`, `dOps`, ...), its body copied as the codec built it. */
function configBox(w: ByteWriter, sampleEntry: SampleEntry): void {
  w.box(sampleEntry.config.fourcc, () => {
    w.bytes(sampleEntry.config.body); // the configuration record, FullBox version and flags included where it has them
  });
}

/** Movie extends box: the file is fragmented, with a trex per track (ISO/IEC 14496-12 §8.8.1). */
export function mvex(w: ByteWriter, trackIds: readonly number[]): void {
  w.box("mvex", () => {
    for (const trackId of trackIds) trex(w, trackId);
  });
}

/** Track extends box; defaults are unused because every trun carries all per-sample fields (§8.8.3). */
export function trex(w: ByteWriter, trackId: number): void {
  w.fullBox("trex", 0, 0, () => {
    w.u32(trackId); // track_ID
    w.u32(1); // default_sample_description_index
    w.u32(0); // default_sample_duration
    w.u32(0); // default_sample_size
    w.u32(0); // default_sample_flags
  });
}

/** The fields of one movie fragment with a single track fragment. */
export interface FragmentInput {
  sequenceNumber: number;
  trackId: number;
  /** 1-based stsd entry describing the samples; absent: 1, trex's default, and no field in tfhd. */
  sampleDescriptionIndex?: number;
  baseDecodeTimeTicks: number;
  /** Offset of the first sample's bytes from the first byte of this moof. */
  dataOffset: number;
  samples: readonly Sample[];
}

/** Movie fragment box: header and one track fragment (ISO/IEC 14496-12 §8.8.4). */
export function moof(w: ByteWriter, input: FragmentInput): void {
  w.box("moof", () => {
    mfhd(w, input.sequenceNumber);
    traf(w, input);
  });
}

/** Movie fragment header: the fragment's sequence number, increasing per track (ISO/IEC 14496-12 §8.8.5). */
export function mfhd(w: ByteWriter, sequenceNumber: number): void {
  w.fullBox("mfhd", 0, 0, () => {
    w.u32(sequenceNumber); // sequence_number
  });
}

/** Track fragment box: header, decode time, one run (ISO/IEC 14496-12 §8.8.6). */
export function traf(w: ByteWriter, input: FragmentInput): void {
  w.box("traf", () => {
    tfhd(w, input.trackId, input.sampleDescriptionIndex);
    tfdt(w, input.baseDecodeTimeTicks);
    trun(w, input);
  });
}

/**
 * Track fragment header: default-base-is-moof (required by CMAF), no defaults; a sample_description_index only when
 * it is not 1, trex's default, so a single-entry track's fragments stay as CMAF writes them (ISO/IEC 14496-12 §8.8.7).
 */
export function tfhd(w: ByteWriter, trackId: number, sampleDescriptionIndex = 1): void {
  const hasIndex = sampleDescriptionIndex !== 1;
  w.fullBox("tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF | (hasIndex ? TFHD_SAMPLE_DESCRIPTION_INDEX : 0), () => {
    w.u32(trackId); // track_ID
    if (hasIndex) w.u32(sampleDescriptionIndex); // sample_description_index
  });
}

/** Track fragment decode time, version 1 so it never wraps (ISO/IEC 14496-12 §8.8.12). */
export function tfdt(w: ByteWriter, baseDecodeTimeTicks: number): void {
  w.fullBox("tfdt", 1, 0, () => {
    w.u64(baseDecodeTimeTicks); // baseMediaDecodeTime
  });
}

/** Track run, version 1 (signed composition offsets), every per-sample field present (ISO/IEC 14496-12 §8.8.8). */
export function trun(w: ByteWriter, input: { dataOffset: number; samples: readonly Sample[] }): void {
  w.fullBox("trun", 1, TRUN_FLAGS, () => {
    w.u32(input.samples.length); // sample_count
    w.i32(input.dataOffset); // data_offset
    for (const sample of input.samples) {
      w.u32(sample.durationTicks); // sample_duration
      w.u32(sample.data.byteLength); // sample_size
      w.u32(sample.isSync ? SAMPLE_FLAGS_SYNC : SAMPLE_FLAGS_NON_SYNC); // sample_flags
      w.i32(sample.ctsOffsetTicks); // sample_composition_time_offset
    }
  });
}

/** Size of an mdat header: 8 bytes, or 16 with a 64-bit largesize when the box exceeds 2^32 - 1 bytes (§4.2). */
export function mdatHeaderSize(payloadBytes: number): number {
  return payloadBytes + 8 > 0xffff_ffff ? 16 : 8;
}

/**
 * Header of the media data box holding `payloadBytes`; a 64-bit largesize past 2^32 - 1 bytes (§4.2, §8.1.1). The
 * payload itself is written (or streamed) by the caller.
 */
export function mdatHeader(w: ByteWriter, payloadBytes: number): void {
  if (mdatHeaderSize(payloadBytes) === 8) {
    w.u32(8 + payloadBytes); // size
    w.fourcc("mdat"); // type
  } else {
    w.u32(1); // size, 1: largesize follows
    w.fourcc("mdat"); // type
    w.u64(16 + payloadBytes); // largesize
  }
}

/** Media data box: the samples' bytes back to back, in trun order (ISO/IEC 14496-12 §8.1.1). */
export function mdat(w: ByteWriter, samples: readonly Sample[]): void {
  let payloadBytes = 0;
  for (const sample of samples) payloadBytes += sample.data.byteLength;
  mdatHeader(w, payloadBytes);
  for (const sample of samples) w.bytes(sample.data); // data
}
