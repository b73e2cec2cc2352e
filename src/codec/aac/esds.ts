/**
 * The `esds` box body of an `mp4a` sample entry (ISO/IEC 14496-14 §3.1.2): an ES_Descriptor holding a
 * DecoderConfigDescriptor and an SLConfigDescriptor (ISO/IEC 14496-1 §7.2.6). Used for AAC (object type 0x40 with
 * the AudioSpecificConfig as DecoderSpecificInfo) and MP3 (0x6B, 0x69, no DecoderSpecificInfo). It builds and reads
 * only the descriptors an `esds` needs; no object descriptor streams, no URL or OCR streams.
 */

/** A parse that either gives a value or says why not: bad bytes are data, never exceptions. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** objectTypeIndication of MPEG-4 audio (ISO/IEC 14496-3: AAC and friends; ISO/IEC 14496-1 Table 5). */
export const OTI_MPEG4_AUDIO = 0x40;
/** objectTypeIndication of MPEG-2 audio with the lower sampling frequencies (ISO/IEC 13818-3; MP3 at 16-24 kHz). */
export const OTI_MPEG2_AUDIO = 0x69;
/** objectTypeIndication of MPEG-1 audio (ISO/IEC 11172-3; MP3 at 32-48 kHz). */
export const OTI_MPEG1_AUDIO = 0x6b;

/** Descriptor tags (ISO/IEC 14496-1 §7.2.2.1 Table 1). */
const ES_DESCR_TAG = 0x03;
const DECODER_CONFIG_DESCR_TAG = 0x04;
const DEC_SPECIFIC_INFO_TAG = 0x05;
const SL_CONFIG_DESCR_TAG = 0x06;
/** streamType of an audio stream (ISO/IEC 14496-1 §7.2.6.6.2 Table 6). */
const STREAM_TYPE_AUDIO = 0x05;
/** SLConfigDescriptor predefined value reserved for MP4 files (ISO/IEC 14496-14 §3.1.2). */
const SL_PREDEFINED_MP4 = 0x02;

/** What an `esds` says about an audio stream. */
export interface EsdsFields {
  /** objectTypeIndication: 0x40 (MPEG-4 audio), 0x6B (MPEG-1 audio), 0x69 (MPEG-2 audio), ... */
  objectTypeIndication: number;
  /** bufferSizeDB: the decoder buffer size in bytes; 0 when unknown. */
  bufferSizeBytes: number;
  /** maxBitrate in bits per second over any one-second window; 0 when unknown. */
  maxBitrate: number;
  /** avgBitrate in bits per second; 0 for variable or unknown bit rate. */
  avgBitrate: number;
  /** DecoderSpecificInfo bytes (the AudioSpecificConfig for 0x40); absent for MP3. */
  decoderSpecificInfo?: Uint8Array;
}

/** The rate fields of an `esds`; each defaults to 0 ("unknown"). */
export type BitRates = Partial<Pick<EsdsFields, "bufferSizeBytes" | "maxBitrate" | "avgBitrate">>;

/** The `esds` body of an AAC track: objectTypeIndication 0x40 with `asc`, the AudioSpecificConfig, as its
 * DecoderSpecificInfo (ISO/IEC 14496-3 §1.6.7). */
export function aacEsdsBody(asc: Uint8Array, rates: BitRates = {}): Uint8Array {
  return esdsBody({
    objectTypeIndication: OTI_MPEG4_AUDIO,
    bufferSizeBytes: rates.bufferSizeBytes ?? 0,
    maxBitrate: rates.maxBitrate ?? 0,
    avgBitrate: rates.avgBitrate ?? 0,
    decoderSpecificInfo: asc,
  });
}

/**
 * The `esds` body (after the 8-byte box header, version and flags included) for `fields`, ISO/IEC 14496-14 §3.1.2.
 * ES_ID is 0 as stored in a file; descriptor sizes use the fixed 4-byte form (0x80 0x80 0x80 n), as ffmpeg's mp4
 * muxer writes them, so the layout never depends on the sizes.
 */
export function esdsBody(fields: EsdsFields): Uint8Array {
  const dsi = fields.decoderSpecificInfo;
  const dsiBytes = dsi === undefined ? 0 : 5 + dsi.length;
  const decoderConfigBytes = 5 + 13 + dsiBytes;
  const slConfigBytes = 5 + 1;
  const esBytes = 5 + 3 + decoderConfigBytes + slConfigBytes;
  const out = new Uint8Array(4 + esBytes);
  const view = new DataView(out.buffer);
  let offset = 0;
  const u8 = (value: number) => view.setUint8(offset++, value);
  const u16 = (value: number) => {
    view.setUint16(offset, value);
    offset += 2;
  };
  const u24 = (value: number) => {
    u8(value >>> 16);
    u16(value & 0xffff);
  };
  const u32 = (value: number) => {
    view.setUint32(offset, value);
    offset += 4;
  };
  const descriptor = (tag: number, totalBytes: number) => {
    u8(tag); // tag
    u8(0x80); // sizeOfInstance, 7 bits per byte with the "next byte" bit set ...
    u8(0x80);
    u8(0x80);
    u8(totalBytes - 5); // ... and the last 7 bits
  };

  u32(0); // version 0, flags 0
  descriptor(ES_DESCR_TAG, esBytes); // ES_Descriptor (ISO/IEC 14496-1 §7.2.6.5)
  u16(0); // ES_ID: 0 as stored in a file
  u8(0); // streamDependenceFlag 0, URL_Flag 0, OCRstreamFlag 0, streamPriority 0
  descriptor(DECODER_CONFIG_DESCR_TAG, decoderConfigBytes); // DecoderConfigDescriptor (§7.2.6.6)
  u8(fields.objectTypeIndication); // objectTypeIndication
  u8((STREAM_TYPE_AUDIO << 2) | 0x01); // streamType, upStream 0, reserved 1
  u24(fields.bufferSizeBytes); // bufferSizeDB
  u32(fields.maxBitrate); // maxBitrate
  u32(fields.avgBitrate); // avgBitrate
  if (dsi !== undefined) {
    descriptor(DEC_SPECIFIC_INFO_TAG, dsiBytes); // DecoderSpecificInfo (§7.2.6.7)
    out.set(dsi, offset); // the codec's configuration, e.g. an AudioSpecificConfig
    offset += dsi.length;
  }
  descriptor(SL_CONFIG_DESCR_TAG, slConfigBytes); // SLConfigDescriptor (§7.3.2.3)
  u8(SL_PREDEFINED_MP4); // predefined
  return out;
}

/** A descriptor's tag and where its payload lies; sizes may use 1 to 4 bytes (ISO/IEC 14496-1 §8.3.3). */
interface Descriptor {
  tag: number;
  start: number;
  end: number;
}

function readDescriptor(bytes: Uint8Array, offset: number, end: number): Descriptor | string {
  if (offset >= end) return `descriptor header missing at offset ${offset}`;
  const tag = bytes[offset]!;
  let sizeBytes = 0;
  let at = offset + 1;
  for (let i = 0; i < 4; i++) {
    const byte = bytes[at++];
    if (byte === undefined || at > end) return `descriptor 0x${hex(tag)} at offset ${offset} has a truncated size`;
    sizeBytes = sizeBytes * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) break;
    if (i === 3) return `descriptor 0x${hex(tag)} at offset ${offset} has a size longer than 4 bytes`;
  }
  if (at + sizeBytes > end) {
    return `descriptor 0x${hex(tag)} at offset ${offset} claims ${sizeBytes} bytes, ${end - at} left`;
  }
  return { tag, start: at, end: at + sizeBytes };
}

/** The fields of an `esds` body (version and flags first), as `esdsBody` writes them or any other muxer does. */
export function parseEsds(body: Uint8Array): Parsed<EsdsFields> {
  const fail = (reason: string): Parsed<EsdsFields> => ({ ok: false, reason: `invalid esds: ${reason}` });
  if (body.length < 4) return fail(`${body.length} bytes`);
  if (body[0] !== 0) return fail(`version ${body[0]}`);
  const es = readDescriptor(body, 4, body.length);
  if (typeof es === "string") return fail(es);
  if (es.tag !== ES_DESCR_TAG) return fail(`expected an ES_Descriptor (0x03), got tag 0x${hex(es.tag)}`);
  if (es.end - es.start < 3) return fail("ES_Descriptor too short");
  const flags = body[es.start + 2]!;
  let at = es.start + 3;
  if (flags & 0x80) at += 2; // dependsOn_ES_ID
  if (flags & 0x40) at += 1 + (body[at] ?? 0); // URLlength, URLstring
  if (flags & 0x20) at += 2; // OCR_ES_Id
  for (; at < es.end;) {
    const child = readDescriptor(body, at, es.end);
    if (typeof child === "string") return fail(child);
    at = child.end;
    if (child.tag !== DECODER_CONFIG_DESCR_TAG) continue;
    if (child.end - child.start < 13) return fail("DecoderConfigDescriptor too short");
    const view = new DataView(body.buffer, body.byteOffset + child.start, 13);
    const fields: EsdsFields = {
      objectTypeIndication: view.getUint8(0),
      bufferSizeBytes: (view.getUint8(2) << 16) | view.getUint16(3),
      maxBitrate: view.getUint32(5),
      avgBitrate: view.getUint32(9),
    };
    const streamType = view.getUint8(1) >> 2;
    if (streamType !== STREAM_TYPE_AUDIO) return fail(`streamType ${streamType} is not audio (5)`);
    for (let inner = child.start + 13; inner < child.end;) {
      const info = readDescriptor(body, inner, child.end);
      if (typeof info === "string") return fail(info);
      if (info.tag === DEC_SPECIFIC_INFO_TAG) fields.decoderSpecificInfo = body.subarray(info.start, info.end);
      inner = info.end;
    }
    return { ok: true, value: fields };
  }
  return fail("no DecoderConfigDescriptor");
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}
