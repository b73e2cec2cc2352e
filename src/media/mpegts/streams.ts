/**
 * The MPEG-TS codec table: one row per MP4 sample entry fourcc, saying which stream_type (ISO/IEC 13818-1 Table
 * 2-34) carries the track and how a sample's ISOBMFF bytes become PES payload: H.264 and H.265 as Annex B byte
 * streams with an access unit delimiter and, at keyframes, the parameter sets of the avcC/hvcC; AAC with an ADTS
 * header per frame; MP3 frames as they are. Adding a codec is a row. The avcC/hvcC readers here take out the
 * parameter sets and the NAL unit length size, nothing else.
 */

import {
  ADTS_MAX_PAYLOAD_BYTES,
  adtsFraming,
  adtsHeader,
  H265NalType,
  h265NalType,
  NalType,
  nalType,
  OTI_MPEG1_AUDIO,
  OTI_MPEG2_AUDIO,
  OTI_MPEG4_AUDIO,
  parseAudioSpecificConfig,
  parseEsds,
  readAvcDecoderConfigurationRecord,
  readHevcDecoderConfigurationRecord,
  type SampleEntry,
} from "../../codec/mod.ts";
import type { Sample, TrackCodec } from "../track.ts";

/** stream_type values (ISO/IEC 13818-1 §2.4.4.9 Table 2-34). */
export const StreamType = {
  /** ISO/IEC 11172-3 audio (MPEG-1 audio: MP3 at 32-48 kHz). */
  Mpeg1Audio: 0x03,
  /** ISO/IEC 13818-3 audio (MPEG-2 audio: MP3 at 16-24 kHz and below). */
  Mpeg2Audio: 0x04,
  /** ISO/IEC 13818-7 audio with ADTS transport syntax (AAC, also HE-AAC framed as its core). */
  AdtsAac: 0x0f,
  /** ITU-T H.264 video. */
  H264: 0x1b,
  /** ITU-T H.265 video. */
  H265: 0x24,
} as const;

/** How one track's samples go into PES packets. */
export interface TsStream {
  kind: "video" | "audio";
  /** stream_type in the PMT. */
  streamType: number;
  /** PES stream_id (ISO/IEC 13818-1 §2.4.3.7 Table 2-22): 0xE0 for video, 0xC0 for audio. */
  streamId: number;
  /** The sample as PES payload; null when its bytes cannot be framed (a torn NAL unit length, an oversized frame). */
  payload(sample: Sample): Uint8Array | null;
}

/** A row of the table: reads a track's sample entry and opens its stream, or says why it cannot. */
export interface TsCodecRow {
  /** The MP4 sample entry type this row carries. */
  fourcc: string;
  open(codec: TrackCodec): TsStream | { refused: string };
}

/** Every sample entry MPEG-TS output can carry, by fourcc. */
export const TS_CODECS: ReadonlyMap<string, TsCodecRow> = new Map<string, TsCodecRow>([
  ["avc1", { fourcc: "avc1", open: (codec) => openNalStream(codec.sampleEntry, H264) }],
  ["hvc1", { fourcc: "hvc1", open: (codec) => openNalStream(codec.sampleEntry, H265) }],
  ["mp4a", { fourcc: "mp4a", open: (codec) => openMp4a(codec.sampleEntry) }],
]);

/** The stream for a track, or why MPEG-TS cannot carry it. */
export function openTsStream(codec: TrackCodec): TsStream | { refused: string } {
  const fourcc = codec.sampleEntry.fourcc;
  const row = TS_CODECS.get(fourcc);
  if (row === undefined) {
    return {
      refused: `no MPEG-TS stream type for sample entry "${fourcc}" (carried: ${[...TS_CODECS.keys()].join(", ")})`,
    };
  }
  const stream = row.open(codec);
  if ("refused" in stream) return stream;
  if (stream.kind !== codec.kind) return { refused: `sample entry "${fourcc}" is not ${codec.kind}` };
  return stream;
}

/** What differs between H.264 and H.265 when their samples become Annex B access units. */
interface NalSyntax {
  name: string;
  configFourcc: string;
  streamType: number;
  /** The NAL unit length size and the parameter sets to put before keyframes, in decoding order. */
  readConfig(record: Uint8Array): { lengthSizeBytes: number; parameterSets: Uint8Array[] } | string;
  isAud(nal: Uint8Array): boolean;
  isSps(nal: Uint8Array): boolean;
  /** An access unit delimiter that allows any slice type, for the access unit made of `nalUnits`. */
  aud(nalUnits: readonly Uint8Array[]): Uint8Array;
}

/** H.264 (ITU-T H.264 Annex B, ISO/IEC 13818-1 §2.14). */
const H264: NalSyntax = {
  name: "H.264",
  configFourcc: "avcC",
  streamType: StreamType.H264,
  readConfig: readAvcDecoderConfigurationRecord,
  isAud: (nal) => nalType(nal) === NalType.Aud,
  isSps: (nal) => nalType(nal) === NalType.Sps,
  // nal_unit_type 9, primary_pic_type 7 (I, SI, P, SP, B), rbsp_stop_one_bit (ITU-T H.264 §7.3.2.4)
  aud: () => new Uint8Array([0x09, 0xf0]),
};

/** H.265 (ITU-T H.265 Annex B, ISO/IEC 13818-1 §2.17). */
const H265: NalSyntax = {
  name: "H.265",
  configFourcc: "hvcC",
  streamType: StreamType.H265,
  readConfig: readHevcDecoderConfigurationRecord,
  isAud: (nal) => h265NalType(nal) === H265NalType.Aud,
  isSps: (nal) => h265NalType(nal) === H265NalType.Sps,
  aud: (nalUnits) => {
    // An AUD has the TemporalId of its access unit (ITU-T H.265 §7.4.2.4.4): that of the first VCL NAL unit.
    const vcl = nalUnits.find((nal) => h265NalType(nal) < 32);
    const temporalIdPlus1 = Math.max(1, (vcl?.[1] ?? 1) & 0x07);
    // nal_unit_type 35, layer 0; pic_type 2 (I, P, B), rbsp_stop_one_bit (§7.3.2.5)
    return new Uint8Array([H265NalType.Aud << 1, temporalIdPlus1, 0x50]);
  },
};

const START_CODE = new Uint8Array([0, 0, 0, 1]);

function openNalStream(entry: SampleEntry, syntax: NalSyntax): TsStream | { refused: string } {
  if (entry.config.fourcc !== syntax.configFourcc) {
    return {
      refused: `${syntax.name} sample entry "${entry.fourcc}" has "${entry.config.fourcc}", not ${syntax.configFourcc}`,
    };
  }
  const config = syntax.readConfig(entry.config.body);
  if (typeof config === "string") return { refused: `invalid ${syntax.configFourcc}: ${config}` };
  const { lengthSizeBytes, parameterSets } = config;
  return {
    kind: "video",
    streamType: syntax.streamType,
    streamId: 0xe0,
    payload(sample) {
      const nalUnits = splitLengthPrefixed(sample.data, lengthSizeBytes);
      if (nalUnits === null) return null;
      const first = nalUnits[0];
      const units: Uint8Array[] = [];
      if (first !== undefined && syntax.isAud(first)) units.push(nalUnits.shift()!);
      else units.push(syntax.aud(nalUnits));
      // Each keyframe decodes on its own, as a segment or a player joining mid-stream needs (ISO/IEC 13818-1 §2.14.3).
      if (sample.isSync && !nalUnits.some(syntax.isSps)) units.push(...parameterSets);
      units.push(...nalUnits);
      const out = new Uint8Array(units.reduce((total, nal) => total + START_CODE.length + nal.length, 0));
      let offset = 0;
      for (const nal of units) {
        out.set(START_CODE, offset);
        out.set(nal, offset + START_CODE.length);
        offset += START_CODE.length + nal.length;
      }
      return out;
    },
  };
}

/** NAL units of a sample with `lengthSizeBytes`-byte big-endian lengths (ISO/IEC 14496-15 §4.3.2); null if torn. */
function splitLengthPrefixed(sample: Uint8Array, lengthSizeBytes: number): Uint8Array[] | null {
  const nalUnits: Uint8Array[] = [];
  let offset = 0;
  while (offset < sample.length) {
    if (offset + lengthSizeBytes > sample.length) return null;
    let sizeBytes = 0;
    for (let i = 0; i < lengthSizeBytes; i++) sizeBytes = sizeBytes * 256 + sample[offset + i]!;
    offset += lengthSizeBytes;
    if (sizeBytes === 0 || offset + sizeBytes > sample.length) return null;
    nalUnits.push(sample.subarray(offset, offset + sizeBytes));
    offset += sizeBytes;
  }
  return nalUnits;
}

/** `mp4a`: the esds objectTypeIndication says which audio it is (ISO/IEC 14496-1 §7.2.6.6.2 Table 5). */
function openMp4a(entry: SampleEntry): TsStream | { refused: string } {
  if (entry.config.fourcc !== "esds") return { refused: `"mp4a" sample entry has "${entry.config.fourcc}", not esds` };
  const esds = parseEsds(entry.config.body);
  if (!esds.ok) return { refused: esds.reason };
  const oti = esds.value.objectTypeIndication;
  if (oti === OTI_MPEG1_AUDIO || oti === OTI_MPEG2_AUDIO) {
    const streamType = oti === OTI_MPEG1_AUDIO ? StreamType.Mpeg1Audio : StreamType.Mpeg2Audio;
    return { kind: "audio", streamType, streamId: 0xc0, payload: (sample) => sample.data };
  }
  if (oti !== OTI_MPEG4_AUDIO) return { refused: `"mp4a" with objectTypeIndication 0x${oti.toString(16)}` };
  const asc = esds.value.decoderSpecificInfo;
  if (asc === undefined) return { refused: "AAC esds without an AudioSpecificConfig" };
  const config = parseAudioSpecificConfig(asc);
  if (!config.ok) return { refused: config.reason };
  const framing = adtsFraming(config.value);
  if (!framing.ok) return { refused: framing.reason };
  return {
    kind: "audio",
    streamType: StreamType.AdtsAac,
    streamId: 0xc0,
    payload(sample) {
      if (sample.data.length > ADTS_MAX_PAYLOAD_BYTES) return null;
      const header = adtsHeader(framing.value, sample.data.length);
      const out = new Uint8Array(header.length + sample.data.length);
      out.set(header);
      out.set(sample.data, header.length);
      return out;
    },
  };
}
