/**
 * The FLV codec table: one row per MP4 sample entry fourcc, saying how a track's decoder configuration becomes its
 * sequence header tag body and how a sample becomes a coded frame tag body. H.264, AAC and MP3 use legacy FLV tags
 * (FLV 10.1 §E.4.2, §E.4.3), which every FLV reader knows; H.265, AV1, VP9, VP8 and Opus use Enhanced RTMP tags
 * (veovera E-RTMP v2: ExVideoTagHeader / ExAudioTagHeader with a FourCC), one track per tag, no ModEx, no multitrack.
 * Sample bytes go into tags as they are: MP4 samples and FLV frames share the ISOBMFF sample form. Adding a codec is
 * a row. It writes no end-of-sequence, metadata (colorInfo) or multichannel tags.
 */

import {
  OTI_MPEG1_AUDIO,
  OTI_MPEG2_AUDIO,
  OTI_MPEG4_AUDIO,
  parseAudioSpecificConfig,
  parseEsds,
  type SampleEntry,
} from "../../codec/mod.ts";
import type { Sample, TrackCodec } from "../track.ts";
import { TagType } from "./tags.ts";

/** How one track's configuration and samples become FLV tag bodies. */
export interface FlvStream {
  kind: "video" | "audio";
  /** The tag type of its tags: 9 video or 8 audio. */
  tagType: number;
  /**
   * `videocodecid` / `audiocodecid` for onMetaData: the legacy CodecID or SoundFormat, or for E-RTMP the FourCC read
   * as a big-endian UI32 (E-RTMP v2 "Enhancing onMetaData").
   */
  codecId: number;
  /** The sequence header (start) tag body; null for a codec that has none (MP3). */
  sequenceHeader: Uint8Array | null;
  /**
   * A sample's tag body. `ctsOffsetMs` (presentation minus decode time, SI24) is written where the format has the
   * field (H.264, H.265) and ignored where it has none (AV1, VP8, VP9, audio), whose samples have no reordering.
   */
  frame(sample: Sample, ctsOffsetMs: number): Uint8Array;
}

/** A row of the table: reads a track's sample entry and opens its stream, or says why it cannot. */
export interface FlvCodecRow {
  /** The MP4 sample entry type this row carries. */
  fourcc: string;
  open(codec: TrackCodec): FlvStream | { refused: string };
}

/** FrameType (FLV 10.1 §E.4.3.1; E-RTMP VideoFrameType). */
const FrameType = { Key: 1, Inter: 2 } as const;
/** Legacy CodecID of AVC (FLV 10.1 §E.4.3.1). */
const AVC_CODEC_ID = 7;
/** AVCPacketType (FLV 10.1 §E.4.3.1 AVCVIDEOPACKET). */
const AvcPacketType = { SequenceHeader: 0, Nalu: 1 } as const;
/** E-RTMP: the top bit of the first video byte says an ExVideoTagHeader follows. */
const IS_EX_VIDEO_HEADER = 0x80;
/** E-RTMP VideoPacketType values used here. */
const VideoPacketType = { SequenceStart: 0, CodedFrames: 1, CodedFramesX: 3 } as const;
/** SoundFormat (FLV 10.1 §E.4.2.1; 9 is E-RTMP's ExHeader). */
const SoundFormat = { Mp3: 2, ExHeader: 9, Aac: 10 } as const;
/** AACPacketType (FLV 10.1 §E.4.2.2 AACAUDIODATA). */
const AacPacketType = { SequenceHeader: 0, Raw: 1 } as const;
/** E-RTMP AudioPacketType values used here. */
const AudioPacketType = { SequenceStart: 0, CodedFrames: 1 } as const;

/** Every sample entry FLV output can carry, by fourcc. */
export const FLV_CODECS: ReadonlyMap<string, FlvCodecRow> = new Map<string, FlvCodecRow>([
  ["avc1", { fourcc: "avc1", open: (codec) => openAvc(codec.sampleEntry) }],
  ["hvc1", { fourcc: "hvc1", open: (codec) => openExVideo(codec.sampleEntry, "hvcC", true) }],
  ["av01", { fourcc: "av01", open: (codec) => openExVideo(codec.sampleEntry, "av1C", false) }],
  ["vp09", { fourcc: "vp09", open: (codec) => openExVideo(codec.sampleEntry, "vpcC", false) }],
  ["vp08", { fourcc: "vp08", open: (codec) => openExVideo(codec.sampleEntry, "vpcC", false) }],
  ["mp4a", { fourcc: "mp4a", open: openMp4a }],
  ["Opus", { fourcc: "Opus", open: (codec) => openOpus(codec.sampleEntry) }],
]);

/** The stream for a track, or why FLV cannot carry it. */
export function openFlvStream(codec: TrackCodec): FlvStream | { refused: string } {
  const fourcc = codec.sampleEntry.fourcc;
  const row = FLV_CODECS.get(fourcc);
  if (row === undefined) {
    return {
      refused: `no FLV tag format for sample entry "${fourcc}" (carried: ${[...FLV_CODECS.keys()].join(", ")})`,
    };
  }
  const stream = row.open(codec);
  if ("refused" in stream) return stream;
  if (stream.kind !== codec.kind) return { refused: `sample entry "${fourcc}" is not ${codec.kind}` };
  return stream;
}

/** Legacy AVC (FLV 10.1 §E.4.3.1): the avcC as the AVC sequence header, samples as AVCPacketType 1 NAL units. */
function openAvc(entry: SampleEntry): FlvStream | { refused: string } {
  const refused = configRefusal(entry, "avcC");
  if (refused !== undefined) return refused;
  return {
    kind: "video",
    tagType: TagType.Video,
    codecId: AVC_CODEC_ID,
    sequenceHeader: bytes(
      (FrameType.Key << 4) | AVC_CODEC_ID, // FrameType 1 (key frame), CodecID 7 (AVC)
      AvcPacketType.SequenceHeader, // AVCPacketType 0: AVCDecoderConfigurationRecord
      ...si24(0), // CompositionTime: 0
      entry.config.body, // AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1)
    ),
    frame: (sample, ctsOffsetMs) =>
      bytes(
        (frameType(sample) << 4) | AVC_CODEC_ID, // FrameType, CodecID 7 (AVC)
        AvcPacketType.Nalu, // AVCPacketType 1: NAL units
        ...si24(ctsOffsetMs), // CompositionTime offset in ms
        sample.data, // length-prefixed NAL units, as the avcC's lengthSizeMinusOne says
      ),
  };
}

/**
 * E-RTMP video (v2 "Enhanced Video"): the sample entry's configuration box body as the SequenceStart, samples as
 * CodedFrames. Only H.265 (and H.264, VVC) CodedFrames carry an SI24 composition time; a 0 offset is written as
 * CodedFramesX, which leaves it out. The bodies are hvcC's HEVCDecoderConfigurationRecord, av1C's
 * AV1CodecConfigurationRecord and, for VP8 and VP9, vpcC's body as it is: FullBox version 1 and flags 0, then the
 * VPCodecConfigurationRecord. The E-RTMP text names only the record, but ffmpeg's FLV muxer writes the version and
 * flags too, the veovera reference demuxer (e-flv-js) reads that layout (and misreads the bare record), and
 * liverec's RTMP ingest accepts both.
 */
function openExVideo(entry: SampleEntry, configFourcc: string, hasCompositionTime: boolean): FlvStream | {
  refused: string;
} {
  const refused = configRefusal(entry, configFourcc);
  if (refused !== undefined) return refused;
  const fourcc = fourccBytes(entry.fourcc);
  return {
    kind: "video",
    tagType: TagType.Video,
    codecId: fourccNumber(fourcc),
    sequenceHeader: bytes(
      IS_EX_VIDEO_HEADER | (FrameType.Key << 4) | VideoPacketType.SequenceStart, // IsExHeader, key frame, SequenceStart
      fourcc, // VideoFourCc
      entry.config.body, // the decoder configuration record
    ),
    frame(sample, ctsOffsetMs) {
      const withOffset = hasCompositionTime && ctsOffsetMs !== 0;
      const packetType = withOffset || !hasCompositionTime ? VideoPacketType.CodedFrames : VideoPacketType.CodedFramesX;
      return bytes(
        IS_EX_VIDEO_HEADER | (frameType(sample) << 4) | packetType, // IsExHeader, VideoFrameType, VideoPacketType
        fourcc, // VideoFourCc
        ...(withOffset ? [si24(ctsOffsetMs)] : []), // compositionTimeOffset in ms (SI24), CodedFrames of H.265 only
        sample.data, // one coded frame (temporal unit) in its ISOBMFF sample form
      );
    },
  };
}

/** `mp4a`: the esds objectTypeIndication says which audio it is (ISO/IEC 14496-1 §7.2.6.6.2 Table 5). */
function openMp4a(codec: TrackCodec): FlvStream | { refused: string } {
  const entry = codec.sampleEntry;
  const refused = configRefusal(entry, "esds");
  if (refused !== undefined) return refused;
  const esds = parseEsds(entry.config.body);
  if (!esds.ok) return { refused: esds.reason };
  const oti = esds.value.objectTypeIndication;
  if (oti === OTI_MPEG1_AUDIO || oti === OTI_MPEG2_AUDIO) return openMp3(codec);
  if (oti !== OTI_MPEG4_AUDIO) return { refused: `"mp4a" with objectTypeIndication 0x${oti.toString(16)}` };
  const asc = esds.value.decoderSpecificInfo;
  if (asc === undefined) return { refused: "AAC esds without an AudioSpecificConfig" };
  const config = parseAudioSpecificConfig(asc);
  if (!config.ok) return { refused: config.reason };
  // SoundRate 3, SoundSize 1, SoundType 1 whatever the stream: FLV 10.1 §E.4.2.1 says AAC always has them.
  const header = (SoundFormat.Aac << 4) | (3 << 2) | (1 << 1) | 1;
  return {
    kind: "audio",
    tagType: TagType.Audio,
    codecId: SoundFormat.Aac,
    sequenceHeader: bytes(
      header, // SoundFormat 10 (AAC), SoundRate 3 (44 kHz), SoundSize 1 (16-bit), SoundType 1 (stereo)
      AacPacketType.SequenceHeader, // AACPacketType 0: AudioSpecificConfig
      asc, // AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1)
    ),
    frame: (sample) =>
      bytes(
        header, // as above
        AacPacketType.Raw, // AACPacketType 1: one raw AAC frame
        sample.data,
      ),
  };
}

/**
 * MP3 (FLV 10.1 §E.4.2.1): no sequence header, frames as they are, SoundFormat 2 with the SoundRate nearest the
 * track's rate (5.5, 11, 22 or 44 kHz; 48 kHz is 44 kHz, as ffmpeg writes it): decoders take the real rate from the
 * frame headers. SoundFormat 14 (MP3 8 kHz) is not used: ffmpeg's FLV demuxer does not know it.
 */
function openMp3(codec: TrackCodec): FlvStream {
  const sampleRateHz = codec.kind === "audio" ? codec.sampleRate : 44100;
  const channels = codec.kind === "audio" ? codec.channels : 2;
  const soundRate = Math.min(3, Math.max(0, Math.round(Math.log2(sampleRateHz / 5512.5))));
  const header = (SoundFormat.Mp3 << 4) | (soundRate << 2) | (1 << 1) | (channels > 1 ? 1 : 0);
  return {
    kind: "audio",
    tagType: TagType.Audio,
    codecId: SoundFormat.Mp3,
    sequenceHeader: null,
    frame: (sample) =>
      bytes(
        header, // SoundFormat 2 (MP3), SoundRate, SoundSize 1 (16-bit), SoundType (0 mono, 1 stereo)
        sample.data, // MP3 frames, headers included
      ),
  };
}

/**
 * E-RTMP Opus (v2 "Enhanced Audio"): the SequenceStart is the Opus ID header "OpusHead" (RFC 7845 §5.1, as E-RTMP
 * says), rebuilt from the dOps box body (Opus in ISOBMFF §4.3.2: the same fields, big-endian, version 0); samples are
 * CodedFrames.
 */
function openOpus(entry: SampleEntry): FlvStream | { refused: string } {
  const refused = configRefusal(entry, "dOps");
  if (refused !== undefined) return refused;
  const head = opusHead(entry.config.body);
  if (typeof head === "string") return { refused: `invalid dOps: ${head}` };
  const fourcc = fourccBytes("Opus");
  return {
    kind: "audio",
    tagType: TagType.Audio,
    codecId: fourccNumber(fourcc),
    sequenceHeader: bytes(
      (SoundFormat.ExHeader << 4) | AudioPacketType.SequenceStart, // SoundFormat 9 (ExHeader), SequenceStart
      fourcc, // AudioFourCc
      head, // Opus ID header
    ),
    frame: (sample) =>
      bytes(
        (SoundFormat.ExHeader << 4) | AudioPacketType.CodedFrames, // SoundFormat 9 (ExHeader), CodedFrames
        fourcc, // AudioFourCc
        sample.data, // one Opus packet
      ),
  };
}

/** The Opus ID header (RFC 7845 §5.1, little-endian) carrying the fields of a dOps body, or why it cannot. */
function opusHead(dOps: Uint8Array): Uint8Array | string {
  if (dOps.length < 11) return `${dOps.length} bytes, needs 11`;
  const view = new DataView(dOps.buffer, dOps.byteOffset, dOps.byteLength);
  if (view.getUint8(0) !== 0) return `Version ${view.getUint8(0)}`;
  const channels = view.getUint8(1);
  const mappingFamily = view.getUint8(10);
  const mappingTableBytes = mappingFamily === 0 ? 0 : 2 + channels;
  if (dOps.length < 11 + mappingTableBytes) {
    return `ChannelMappingFamily ${mappingFamily} with ${channels} channels needs ${11 + mappingTableBytes} bytes`;
  }
  const head = new Uint8Array(19 + mappingTableBytes);
  const out = new DataView(head.buffer);
  head.set(fourccBytes("Opus"), 0); // magic signature "OpusHead"
  head.set(fourccBytes("Head"), 4);
  out.setUint8(8, 1); // version 1
  out.setUint8(9, channels); // output channel count
  out.setUint16(10, view.getUint16(2), true); // pre-skip, 48 kHz samples
  out.setUint32(12, view.getUint32(4), true); // input sample rate, Hz
  out.setInt16(16, view.getInt16(8), true); // output gain, Q7.8 dB
  out.setUint8(18, mappingFamily); // channel mapping family
  head.set(dOps.subarray(11, 11 + mappingTableBytes), 19); // stream count, coupled count, channel mapping
  return head;
}

function configRefusal(entry: SampleEntry, configFourcc: string): { refused: string } | undefined {
  if (entry.config.fourcc === configFourcc) return undefined;
  return { refused: `sample entry "${entry.fourcc}" has "${entry.config.fourcc}", not ${configFourcc}` };
}

function frameType(sample: Sample): number {
  return sample.isSync ? FrameType.Key : FrameType.Inter;
}

/** SI24: a signed 24-bit big-endian integer. */
function si24(value: number): Uint8Array {
  const bits = value & 0xff_ffff;
  return Uint8Array.of(bits >>> 16, (bits >>> 8) & 0xff, bits & 0xff);
}

function fourccBytes(fourcc: string): Uint8Array {
  return Uint8Array.from(fourcc, (char) => char.charCodeAt(0));
}

function fourccNumber(fourcc: Uint8Array): number {
  return new DataView(fourcc.buffer, fourcc.byteOffset, 4).getUint32(0);
}

/** Bytes and byte arrays, concatenated. */
function bytes(...parts: (number | Uint8Array)[]): Uint8Array {
  const out = new Uint8Array(parts.reduce<number>((n, part) => n + (typeof part === "number" ? 1 : part.length), 0));
  let offset = 0;
  for (const part of parts) {
    if (typeof part === "number") out[offset++] = part;
    else {
      out.set(part, offset);
      offset += part.length;
    }
  }
  return out;
}
