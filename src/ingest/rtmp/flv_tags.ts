/**
 * RTMP audio and video message payloads (FLV tag bodies, message types 8 and 9) to codec-neutral records: legacy
 * AUDIODATA and VIDEODATA (Adobe FLV 10.1 Annex E.4.2, E.4.3) and the Enhanced RTMP ExAudioTagHeader and
 * ExVideoTagHeader (veovera E-RTMP v1 and v2: FourCC codecs, ModEx, multitrack). It checks the container layout and
 * the outer framing of configuration records and samples (record versions and lengths, NAL unit lengths, OBU sizes),
 * never the codec bitstreams. It reads no RTMP chunks, no AMF, no script data and keeps no state between messages.
 * It never throws on bad bytes: every record it returns views the payload (nothing is copied).
 */

/**
 * Video codecs liverec records, named by their ISOBMFF sample entry fourcc, which E-RTMP's VideoFourCc reuses:
 * "avc1" H.264, "hvc1" H.265, "av01" AV1, "vp09" VP9, "vp08" VP8 (E-RTMP v2).
 */
export type VideoFourcc = "avc1" | "hvc1" | "av01" | "vp09" | "vp08";

/**
 * Audio codecs liverec records, named by E-RTMP's AudioFourCc: "mp4a" AAC, "Opus" Opus, ".mp3" MP3 (the legacy
 * SoundFormats 10, 2 and 14 map to "mp4a" and ".mp3").
 */
export type AudioFourcc = "mp4a" | "Opus" | ".mp3";

/** The track a record belongs to; `trackId` is the E-RTMP v2 multitrack id, 0 outside multitrack messages. */
export type FlvTrack =
  | { readonly kind: "video"; readonly codec: VideoFourcc; readonly trackId: number }
  | { readonly kind: "audio"; readonly codec: AudioFourcc; readonly trackId: number };

/**
 * A decoder configuration (SequenceStart, legacy AVC/AAC sequence header): "avc1" an AVCDecoderConfigurationRecord
 * (ISO/IEC 14496-15 §5.3.3.1), "hvc1" an HEVCDecoderConfigurationRecord (§8.3.3.1), "av01" an
 * AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3), "vp09"/"vp08" the whole `vpcC` box body, FullBox version 1 and
 * flags 0 first (VP codec binding §2.2; a bare VPCodecConfigurationRecord as sent by the letter of E-RTMP gets
 * them prepended), "mp4a" an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), "Opus" an ID header "OpusHead"
 * (RFC 7845 §5.1), or no bytes when the publisher sent none (E-RTMP: mono/stereo defaults then apply).
 */
export type FlvConfig = FlvTrack & { readonly type: "config"; readonly config: Uint8Array };

/**
 * One coded frame in its ISOBMFF sample form: 4-byte length-prefixed NAL units (avc1, hvc1), low-overhead OBUs of one
 * temporal unit as sent, temporal delimiters included if the publisher sent any (av01), one VP8/VP9 frame or
 * superframe, one raw AAC frame, MP3 frames, one Opus packet.
 */
export type FlvFrame = FlvTrack & {
  readonly type: "frame";
  /** Decoding time: the RTMP message timestamp in ms, 32 bits as sent (unwrapping is the caller's job). */
  readonly dtsMs: number;
  /** Presentation minus decoding time in ms (SI24); 0 where the format has none (CodedFramesX, AV1, VP8/9, audio). */
  readonly ctsOffsetMs: number;
  /** E-RTMP v2 ModEx TimestampOffsetNano: ns to add to `dtsMs` (and the presentation time) for sub-ms precision. */
  readonly timestampOffsetNs: number;
  /** A random access point: FrameType 1 (key frame) or 4 (generated key frame); every audio frame. */
  readonly keyframe: boolean;
  readonly data: Uint8Array;
  /** The legacy AudioTagHeader's SoundRate/SoundSize/SoundType, only on legacy MP3 frames (FLV 10.1 §E.4.2.1). */
  readonly legacySound?: LegacySoundFormat;
};

/** The sound format bits of a legacy MP3 tag; the MP3 frame headers are authoritative, these are hints. */
export interface LegacySoundFormat {
  /** SoundRate in Hz: 5512 (44100 / 8), 11025, 22050 or 44100; 8000 for SoundFormat 14 (MP3 8 kHz). */
  readonly sampleRateHz: number;
  /** SoundSize in bits, 8 or 16 (only meaningful for uncompressed formats, FLV 10.1 says). */
  readonly sampleSizeBits: 8 | 16;
  /** SoundType: 1 mono, 2 stereo. */
  readonly channels: 1 | 2;
}

/** The end of a track's sequence: legacy AVCPacketType 2, E-RTMP SequenceEnd. */
export type FlvEnd = FlvTrack & { readonly type: "end" };

/** E-RTMP VideoPacketType.Metadata: AMF-encoded [name, value] pairs (today "colorInfo"), as sent (AMF0 or AMF3). */
export type FlvMetadata = FlvTrack & { readonly type: "metadata"; readonly amf: Uint8Array };

/** E-RTMP AudioPacketType.MultichannelConfig: which speaker each channel of the bitstream feeds. */
export type FlvMultichannelConfig = FlvTrack & {
  readonly type: "multichannel";
  /** AudioChannelOrder: "unspecified" (count only), "native" (`channelFlags`), "custom" (`channelMapping`). */
  readonly channelOrder: "unspecified" | "native" | "custom";
  readonly channelCount: number;
  /** Custom order: the AudioChannel (speaker) of each channel in bitstream order; empty otherwise. */
  readonly channelMapping: readonly number[];
  /** Native order: the AudioChannelMask bits of the channels present; 0 otherwise. */
  readonly channelFlags: number;
};

/** Understood but not for recording (a codec liverec does not record, a command frame, a reserved value). */
export interface FlvIgnored {
  readonly type: "ignored";
  readonly kind: "video" | "audio";
  /** What was ignored, naming the codec or value, e.g. "legacy video CodecID 4 (On2 VP6) is not recorded". */
  readonly reason: string;
}

/** A malformed payload: cut short, sizes that do not add up, a broken configuration record or sample framing. */
export interface FlvError {
  readonly type: "error";
  readonly kind: "video" | "audio";
  /** What is wrong and where, e.g. "SI24 CompositionTime needs 3 bytes at byte 2, 1 left". */
  readonly reason: string;
}

/** What one message yields. A message that is an error yields exactly one `FlvError` and nothing else. */
export type FlvRecord = FlvConfig | FlvFrame | FlvEnd | FlvMetadata | FlvMultichannelConfig | FlvIgnored | FlvError;

/**
 * Parses the payload of an RTMP video message (type 9) or FLV video tag body, sent at `timestampMs`. A multitrack
 * message yields a record per track, in message order. Never throws.
 */
export function parseVideoTag(body: Uint8Array, timestampMs: number): FlvRecord[] {
  return guarded("video", () => readVideoTag(new Cursor(body), timestampMs));
}

/**
 * Parses the payload of an RTMP audio message (type 8) or FLV audio tag body, sent at `timestampMs`. An empty payload
 * is RTMP's audio silence message and is ignored. A multitrack message yields a record per track. Never throws.
 */
export function parseAudioTag(body: Uint8Array, timestampMs: number): FlvRecord[] {
  if (body.length === 0) return [{ type: "ignored", kind: "audio", reason: "empty audio message (RTMP silence)" }];
  return guarded("audio", () => readAudioTag(new Cursor(body), timestampMs));
}

// ---------------------------------------------------------------------------------------------------------------
// Reading bytes

/** Thrown inside this module only, turned into an `FlvError` by `guarded`. */
class Malformed extends Error {}

function guarded(kind: "video" | "audio", read: () => FlvRecord[]): FlvRecord[] {
  try {
    return read();
  } catch (error) {
    if (error instanceof Malformed) return [{ type: "error", kind, reason: error.message }];
    throw error;
  }
}

/** A big-endian byte cursor over `bytes[offset, end)`; offsets in messages count from the payload's start. */
class Cursor {
  constructor(private readonly bytes: Uint8Array, private offset = 0, private readonly end = bytes.length) {}

  get remaining(): number {
    return this.end - this.offset;
  }

  /** The next `sizeBytes` bytes, consumed. */
  take(sizeBytes: number, field: string): Uint8Array {
    if (sizeBytes > this.remaining) {
      throw new Malformed(`${field} needs ${sizeBytes} bytes at byte ${this.offset}, ${this.remaining} left`);
    }
    this.offset += sizeBytes;
    return this.bytes.subarray(this.offset - sizeBytes, this.offset);
  }

  /** Everything left, consumed. */
  rest(): Uint8Array {
    return this.take(this.remaining, "rest");
  }

  /** A cursor over the next `sizeBytes` bytes, which this one skips. */
  split(sizeBytes: number, field: string): Cursor {
    const start = this.offset;
    this.take(sizeBytes, field);
    return new Cursor(this.bytes, start, this.offset);
  }

  u8(field: string): number {
    return this.uint(1, field);
  }

  u16(field: string): number {
    return this.uint(2, field);
  }

  u24(field: string): number {
    return this.uint(3, field);
  }

  u32(field: string): number {
    return this.uint(4, field);
  }

  /** SI24, two's complement. */
  si24(field: string): number {
    const value = this.uint(3, field);
    return value >= 0x800000 ? value - 0x1000000 : value;
  }

  /** FOURCC: four bytes as a string of char codes (latin1), whatever they are. */
  fourcc(field: string): string {
    return String.fromCharCode(...this.take(4, field));
  }

  private uint(sizeBytes: number, field: string): number {
    let value = 0;
    for (const byte of this.take(sizeBytes, field)) value = value * 256 + byte;
    return value;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Codec rows: what a sequence start holds and how a sample is framed

/** A configuration record's verdict: the record to return, a reason it is malformed, or a reason to ignore it. */
type ConfigVerdict = { config: Uint8Array } | { error: string } | { ignored: string };

interface VideoRow {
  codec: VideoFourcc;
  /** CodedFrames carry an SI24 composition time offset before the sample (E-RTMP: avc1, hvc1, vvc1). */
  compositionTime: boolean;
  config(bytes: Uint8Array): ConfigVerdict;
  /** Why `bytes` is not a well-framed sample; undefined when it is. */
  sampleError(bytes: Uint8Array): string | undefined;
}

interface AudioRow {
  codec: AudioFourcc;
  /** Undefined for a codec without a sequence start (MP3). */
  config?: (bytes: Uint8Array) => ConfigVerdict;
}

const VIDEO_ROWS: Readonly<Record<string, VideoRow>> = {
  avc1: { codec: "avc1", compositionTime: true, config: avcConfig, sampleError: nalUnitsError },
  hvc1: { codec: "hvc1", compositionTime: true, config: hevcConfig, sampleError: nalUnitsError },
  av01: { codec: "av01", compositionTime: false, config: av1Config, sampleError: (bytes) => obusError(bytes, 0) },
  vp09: { codec: "vp09", compositionTime: false, config: vpConfig, sampleError: emptyError },
  vp08: { codec: "vp08", compositionTime: false, config: vpConfig, sampleError: emptyError },
};

const AUDIO_ROWS: Readonly<Record<string, AudioRow>> = {
  mp4a: { codec: "mp4a", config: audioSpecificConfig },
  Opus: { codec: "Opus", config: opusHead },
  ".mp3": { codec: ".mp3" },
};

/** FourCCs E-RTMP defines that liverec does not record, with their names. */
const NOT_RECORDED: Readonly<Record<string, string>> = {
  vvc1: "VVC",
  fLaC: "FLAC",
  "ac-3": "AC-3",
  "ec-3": "E-AC-3",
};

/** AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1): version 1, SPS and PPS lists that fit. */
function avcConfig(bytes: Uint8Array): ConfigVerdict {
  const record = new Cursor(bytes);
  return recordVerdict("AVCDecoderConfigurationRecord", bytes, () => {
    const version = record.u8("configurationVersion");
    if (version !== 1) return { error: `AVCDecoderConfigurationRecord configurationVersion ${version}, not 1` };
    record.take(3, "profile, compatibility and level");
    const lengthSizeBytes = (record.u8("lengthSizeMinusOne") & 3) + 1;
    const spsCount = record.u8("numOfSequenceParameterSets") & 0x1f;
    for (let i = 0; i < spsCount; i++) record.take(record.u16("sequenceParameterSetLength"), "SPS NAL unit");
    const ppsCount = record.u8("numOfPictureParameterSets");
    for (let i = 0; i < ppsCount; i++) record.take(record.u16("pictureParameterSetLength"), "PPS NAL unit");
    // High profiles may append chroma and bit depth fields, which some encoders leave out: the rest is not checked.
    return lengthSizeVerdict("AVCDecoderConfigurationRecord", lengthSizeBytes, bytes);
  });
}

/** HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1): version 1, NAL unit arrays that fit. */
function hevcConfig(bytes: Uint8Array): ConfigVerdict {
  const record = new Cursor(bytes);
  return recordVerdict("HEVCDecoderConfigurationRecord", bytes, () => {
    const version = record.u8("configurationVersion");
    if (version !== 1) return { error: `HEVCDecoderConfigurationRecord configurationVersion ${version}, not 1` };
    record.take(20, "profile, tier, level, format and frame rate fields");
    const lengthSizeBytes = (record.u8("lengthSizeMinusOne") & 3) + 1;
    const arrayCount = record.u8("numOfArrays");
    for (let i = 0; i < arrayCount; i++) {
      record.u8("NAL_unit_type");
      const nalCount = record.u16("numNalus");
      for (let j = 0; j < nalCount; j++) record.take(record.u16("nalUnitLength"), "NAL unit");
    }
    return lengthSizeVerdict("HEVCDecoderConfigurationRecord", lengthSizeBytes, bytes);
  });
}

/** The NAL unit length size must be the 4 bytes liverec's samples use; every RTMP encoder known sends that. */
function lengthSizeVerdict(what: string, lengthSizeBytes: number, bytes: Uint8Array): ConfigVerdict {
  if (lengthSizeBytes === 4) return { config: bytes };
  return { ignored: `${what} uses ${lengthSizeBytes}-byte NAL unit lengths; only 4-byte lengths are supported` };
}

/** AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3): marker 1, version 1, then configOBUs, each well framed. */
function av1Config(bytes: Uint8Array): ConfigVerdict {
  if (bytes.length < 4) return { error: `AV1CodecConfigurationRecord of ${bytes.length} bytes, needs 4` };
  if (bytes[0] !== 0x81) return { error: `AV1CodecConfigurationRecord marker and version byte 0x${hex(bytes[0])}` };
  const error = obusError(bytes, 4);
  return error === undefined || bytes.length === 4 ? { config: bytes } : { error: `configOBUs: ${error}` };
}

/**
 * VPCodecConfigurationRecord (VP codec ISO media binding §2.2) as the whole `vpcC` box body. ffmpeg sends the body
 * (version 1, flags 0, record); the E-RTMP text names just the record; both are accepted, the body is returned.
 */
function vpConfig(bytes: Uint8Array): ConfigVerdict {
  const isBody = bytes.length >= 12 && bytes[0] === 1 && bytes[1] === 0 && bytes[2] === 0 && bytes[3] === 0 &&
    bytes.length === 12 + readU16(bytes, 10);
  const record = isBody ? bytes.subarray(4) : bytes;
  if (record.length < 8 || record.length !== 8 + readU16(record, 6)) {
    return { error: `vpcC of ${bytes.length} bytes is neither a version 1 box body nor a record of that size` };
  }
  const bitDepth = (record[2] ?? 0) >> 4;
  if (![8, 10, 12].includes(bitDepth)) return { error: `vpcC bitDepth ${bitDepth}, not 8, 10 or 12` };
  if (isBody) return { config: bytes };
  const body = new Uint8Array(4 + record.length);
  body[0] = 1; // FullBox version; flags stay 0
  body.set(record, 4);
  return { config: body };
}

/** AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1): at least audioObjectType and samplingFrequencyIndex. */
function audioSpecificConfig(bytes: Uint8Array): ConfigVerdict {
  return bytes.length >= 2 ? { config: bytes } : { error: `AudioSpecificConfig of ${bytes.length} bytes, needs 2` };
}

/** Opus ID header (RFC 7845 §5.1), or nothing: E-RTMP lets a publisher send an empty Opus SequenceStart. */
function opusHead(bytes: Uint8Array): ConfigVerdict {
  if (bytes.length === 0) return { config: bytes };
  const magic = String.fromCharCode(...bytes.subarray(0, 8));
  if (magic !== "OpusHead") return { error: `Opus ID header starts with ${JSON.stringify(magic)}, not "OpusHead"` };
  if (bytes.length < 19) return { error: `Opus ID header of ${bytes.length} bytes, needs 19` };
  const version = bytes[8] ?? 0;
  if (version >> 4 !== 0) return { error: `Opus ID header version ${version}: major version ${version >> 4} unknown` };
  const channels = bytes[9] ?? 0;
  if (channels === 0) return { error: "Opus ID header with 0 channels" };
  const neededBytes = bytes[18] === 0 ? 19 : 21 + channels;
  if (bytes.length < neededBytes) {
    return { error: `Opus ID header with mapping family ${bytes[18]} of ${bytes.length} bytes, needs ${neededBytes}` };
  }
  return { config: bytes };
}

function recordVerdict(what: string, bytes: Uint8Array, read: () => ConfigVerdict): ConfigVerdict {
  try {
    return read();
  } catch (error) {
    if (error instanceof Malformed) return { error: `${what} of ${bytes.length} bytes: ${error.message}` };
    throw error;
  }
}

/** A sample of 4-byte length-prefixed NAL units (ISO/IEC 14496-15 §4.3.2) must be lengths that tile it exactly. */
function nalUnitsError(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return "no NAL units";
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) return `${bytes.length - offset} stray bytes after the NAL units at byte ${offset}`;
    const sizeBytes = readU16(bytes, offset) * 0x10000 + readU16(bytes, offset + 2);
    if (sizeBytes === 0 || offset + 4 + sizeBytes > bytes.length) {
      return `NAL unit length ${sizeBytes} at sample byte ${offset} in a ${bytes.length}-byte sample`;
    }
    offset += 4 + sizeBytes;
  }
  return undefined;
}

/**
 * Low-overhead OBUs from `start` (AV1 spec §5.2, AV1-ISOBMFF §2.4): each sized (leb128 obu_size) except possibly the
 * last, which then runs to the end. Checks framing only; OBU types and payloads are not read.
 */
function obusError(bytes: Uint8Array, start: number): string | undefined {
  if (bytes.length <= start) return "no OBUs";
  let offset = start;
  while (offset < bytes.length) {
    const header = bytes[offset] ?? 0;
    if ((header & 0x80) !== 0) return `obu_forbidden_bit set at byte ${offset}`;
    let payloadStart = offset + ((header & 0x04) !== 0 ? 2 : 1);
    if (payloadStart > bytes.length) return `OBU extension header cut off at byte ${offset}`;
    if ((header & 0x02) === 0) return undefined; // no obu_size: the last OBU, to the end
    let sizeBytes = 0;
    for (let i = 0;; i++) {
      const byte = bytes[payloadStart++];
      if (byte === undefined || i === 8) return `obu_size of the OBU at byte ${offset} is cut off or too long`;
      sizeBytes += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) break;
    }
    if (payloadStart + sizeBytes > bytes.length) {
      return `obu_size ${sizeBytes} of the OBU at byte ${offset} runs past the ${bytes.length}-byte end`;
    }
    offset = payloadStart + sizeBytes;
  }
  return undefined;
}

function emptyError(bytes: Uint8Array): string | undefined {
  return bytes.length === 0 ? "empty frame" : undefined;
}

function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] ?? 0) * 256 + (bytes[offset + 1] ?? 0);
}

function hex(byte: number | undefined): string {
  return (byte ?? 0).toString(16).padStart(2, "0");
}

// ---------------------------------------------------------------------------------------------------------------
// Legacy tags (FLV 10.1 Annex E.4.2.1 AUDIODATA, E.4.3.1 VIDEODATA)

/** FrameType and E-RTMP VideoFrameType values. */
const FrameType = { Key: 1, Inter: 2, DisposableInter: 3, GeneratedKey: 4, Command: 5 } as const;

/** Legacy CodecIDs liverec does not record, by name (FLV 10.1 §E.4.3.1). */
const LEGACY_VIDEO_NAMES: Readonly<Record<number, string>> = {
  1: "JPEG",
  2: "Sorenson H.263",
  3: "Screen video",
  4: "On2 VP6",
  5: "On2 VP6 with alpha channel",
  6: "Screen video version 2",
};

/**
 * Legacy CodecIDs with the AVCVIDEOPACKET layout (AVCPacketType, SI24 CompositionTime, data): 7 is AVC. 12 is HEVC
 * by a convention outside any spec, from Chinese CDNs and the OBS and ffmpeg forks that publish to them, carrying an
 * HEVCDecoderConfigurationRecord and length-prefixed NAL units exactly as AVC does; E-RTMP's "hvc1" replaces it.
 */
const LEGACY_VIDEO_ROWS: Readonly<Record<number, VideoRow | undefined>> = { 7: VIDEO_ROWS.avc1, 12: VIDEO_ROWS.hvc1 };

/** Legacy SoundFormats liverec does not record, by name (FLV 10.1 §E.4.2.1). */
const LEGACY_AUDIO_NAMES: Readonly<Record<number, string>> = {
  0: "Linear PCM, platform endian",
  1: "ADPCM",
  3: "Linear PCM, little endian",
  4: "Nellymoser 16 kHz mono",
  5: "Nellymoser 8 kHz mono",
  6: "Nellymoser",
  7: "G.711 A-law logarithmic PCM",
  8: "G.711 mu-law logarithmic PCM",
  11: "Speex",
  15: "Device-specific sound",
};

/** Legacy VideoCommand values (FLV 10.1 §E.4.3.1, E-RTMP VideoCommand). */
const VIDEO_COMMANDS: Readonly<Record<number, string>> = { 0: "StartSeek", 1: "EndSeek" };

/** The SoundFormats read here; 9 announces an E-RTMP ExAudioTagHeader. */
const SoundFormat = { Mp3: 2, ExHeader: 9, Aac: 10, Mp3At8kHz: 14 } as const;

const AacPacketType = { SequenceHeader: 0, Raw: 1 } as const;
const AvcPacketType = { SequenceHeader: 0, Nalu: 1, EndOfSequence: 2 } as const;

function readVideoTag(tag: Cursor, dtsMs: number): FlvRecord[] {
  const first = tag.u8("VideoTagHeader");
  if ((first & 0x80) !== 0) return readExVideoTag(tag, first, dtsMs);
  const frameType = first >> 4;
  const codecId = first & 0x0f;
  if (frameType === FrameType.Command) return [commandFrame(tag)];
  const row = LEGACY_VIDEO_ROWS[codecId];
  if (row === undefined) {
    const name = LEGACY_VIDEO_NAMES[codecId];
    const reason = name === undefined
      ? `reserved legacy video CodecID ${codecId}`
      : `legacy video CodecID ${codecId} (${name}) is not recorded`;
    return [{ type: "ignored", kind: "video", reason }];
  }
  const frameTypeIgnored = reservedFrameType(frameType);
  if (frameTypeIgnored !== undefined) return [frameTypeIgnored];
  const packetType = tag.u8("AVCPacketType");
  const ctsOffsetMs = tag.si24("SI24 CompositionTime");
  const track = { kind: "video", codec: row.codec, trackId: 0 } as const;
  switch (packetType) {
    case AvcPacketType.SequenceHeader:
      return [configRecord(track, row.config(tag.rest()))];
    case AvcPacketType.Nalu:
      return [videoFrame(track, row, frameType, tag.rest(), dtsMs, ctsOffsetMs, 0)];
    case AvcPacketType.EndOfSequence:
      return [{ ...track, type: "end" }];
    default:
      throw new Malformed(`AVCPacketType ${packetType} is not 0, 1 or 2`);
  }
}

function readAudioTag(tag: Cursor, dtsMs: number): FlvRecord[] {
  const first = tag.u8("AudioTagHeader");
  const soundFormat = first >> 4;
  if (soundFormat === SoundFormat.ExHeader) return readExAudioTag(tag, first, dtsMs);
  const timing = { dtsMs, ctsOffsetMs: 0, timestampOffsetNs: 0, keyframe: true } as const;
  if (soundFormat === SoundFormat.Aac) {
    const track = { kind: "audio", codec: "mp4a", trackId: 0 } as const;
    const packetType = tag.u8("AACPacketType");
    if (packetType === AacPacketType.SequenceHeader) return [configRecord(track, audioSpecificConfig(tag.rest()))];
    if (packetType !== AacPacketType.Raw) throw new Malformed(`AACPacketType ${packetType} is not 0 or 1`);
    return [{ ...track, type: "frame", ...timing, data: nonEmpty(tag.rest()) }];
  }
  if (soundFormat === SoundFormat.Mp3 || soundFormat === SoundFormat.Mp3At8kHz) {
    const legacySound: LegacySoundFormat = {
      sampleRateHz: soundFormat === SoundFormat.Mp3At8kHz ? 8000 : [5512, 11025, 22050, 44100][(first >> 2) & 3] ?? 0,
      sampleSizeBits: (first & 0x02) !== 0 ? 16 : 8,
      channels: (first & 0x01) !== 0 ? 2 : 1,
    };
    const track = { kind: "audio", codec: ".mp3", trackId: 0 } as const;
    return [{ ...track, type: "frame", ...timing, data: nonEmpty(tag.rest()), legacySound }];
  }
  const name = LEGACY_AUDIO_NAMES[soundFormat];
  const reason = name === undefined
    ? `reserved legacy SoundFormat ${soundFormat}`
    : `legacy SoundFormat ${soundFormat} (${name}) is not recorded`;
  return [{ type: "ignored", kind: "audio", reason }];
}

/** A video info/command frame: a VideoCommand byte and no video. */
function commandFrame(tag: Cursor): FlvIgnored {
  const command = tag.u8("VideoCommand");
  const name = VIDEO_COMMANDS[command] ?? "reserved";
  return { type: "ignored", kind: "video", reason: `video info/command frame (VideoCommand ${command}, ${name})` };
}

/** FrameTypes 0, 6 and 7 are reserved. */
function reservedFrameType(frameType: number): FlvIgnored | undefined {
  if (frameType >= FrameType.Key && frameType <= FrameType.Command) return undefined;
  return { type: "ignored", kind: "video", reason: `reserved VideoFrameType ${frameType}` };
}

// ---------------------------------------------------------------------------------------------------------------
// Enhanced RTMP (E-RTMP v2 "Enhanced Video", "Enhanced Audio"; v1 is the subset without ModEx and multitrack)

const VideoPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  CodedFramesX: 3,
  Metadata: 4,
  Mpeg2TsSequenceStart: 5,
  Multitrack: 6,
  ModEx: 7,
} as const;

const AudioPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  MultichannelConfig: 4,
  Multitrack: 5,
  ModEx: 7,
} as const;

const AUDIO_PACKET_TYPES: ReadonlySet<number> = new Set(Object.values(AudioPacketType));

const AvMultitrackType = { OneTrack: 0, ManyTracks: 1, ManyTracksManyCodecs: 2 } as const;

/** The only PacketModExType defined so far (the same value for audio and video). */
const MOD_EX_TIMESTAMP_OFFSET_NANO = 0;

const AUDIO_CHANNEL_ORDERS = ["unspecified", "native", "custom"] as const;

/** Header fields shared by every track of one message. */
interface ExMessage {
  dtsMs: number;
  timestampOffsetNs: number;
  packetType: number;
}

/**
 * ModEx (E-RTMP v2): while the packet type says ModEx, a 1..256-byte (or 16-bit sized, up to 65536-byte) modifier
 * then a byte of PacketModExType and the next packet type. TimestampOffsetNano is kept; unknown types are skipped,
 * as their size allows. Returns the packet type after the modifiers and the nanosecond offset (0 when none).
 */
function readModEx(tag: Cursor, packetType: number, modEx: number): { packetType: number; timestampOffsetNs: number } {
  let timestampOffsetNs = 0;
  while (packetType === modEx) {
    let sizeBytes = tag.u8("modExDataSize") + 1;
    if (sizeBytes === 256) sizeBytes = tag.u16("16-bit modExDataSize") + 1;
    const data = tag.take(sizeBytes, "modExData");
    const next = tag.u8("PacketModExType and PacketType");
    packetType = next & 0x0f;
    if (next >> 4 === MOD_EX_TIMESTAMP_OFFSET_NANO) {
      if (data.length < 3) throw new Malformed(`TimestampOffsetNano modExData of ${data.length} bytes, needs 3`);
      timestampOffsetNs = new Cursor(data).u24("TimestampOffsetNano");
    }
  }
  return { packetType, timestampOffsetNs };
}

/**
 * The ExTagBody loop shared by audio and video: one track, or with multitrack each track's FourCC (many codecs),
 * trackId and UI24 size. `readTrack` reads one track body to its end, or returns an `FlvIgnored` for the track
 * (whose reason then names it). A size past the end makes the whole message an error.
 */
function readTracks(
  tag: Cursor,
  multitrackType: number | undefined,
  sharedFourcc: string | undefined,
  readTrack: (body: Cursor, fourcc: string, trackId: number) => FlvRecord,
): FlvRecord[] {
  if (multitrackType === undefined) return [readTrack(tag, sharedFourcc ?? "", 0)];
  const records: FlvRecord[] = [];
  do {
    const fourcc = multitrackType === AvMultitrackType.ManyTracksManyCodecs
      ? tag.fourcc("track FourCC")
      : sharedFourcc ?? "";
    const trackId = tag.u8("trackId");
    const oneTrack = multitrackType === AvMultitrackType.OneTrack;
    const record = readTrack(oneTrack ? tag : tag.split(tag.u24("sizeOfTrack"), "track"), fourcc, trackId);
    records.push(record.type === "ignored" ? { ...record, reason: `track ${trackId}: ${record.reason}` } : record);
    if (oneTrack) tag.rest();
  } while (tag.remaining > 0);
  return records;
}

/** Multitrack header: AvMultitrackType and the packet type of all tracks; the FourCC unless many codecs. */
function readMultitrack(
  tag: Cursor,
  kind: "video" | "audio",
  nested: readonly number[],
): { multitrackType: number; packetType: number } | FlvIgnored {
  const byte = tag.u8("AvMultitrackType and PacketType");
  const multitrackType = byte >> 4;
  const packetType = byte & 0x0f;
  if (nested.includes(packetType)) throw new Malformed(`multitrack ${kind} message with packet type ${packetType}`);
  if (multitrackType > AvMultitrackType.ManyTracksManyCodecs) {
    return { type: "ignored", kind, reason: `reserved AvMultitrackType ${multitrackType}` };
  }
  return { multitrackType, packetType };
}

function readExVideoTag(tag: Cursor, first: number, dtsMs: number): FlvRecord[] {
  const frameType = (first >> 4) & 0x07;
  const { packetType: outerType, timestampOffsetNs } = readModEx(tag, first & 0x0f, VideoPacketType.ModEx);
  if (outerType !== VideoPacketType.Metadata && frameType === FrameType.Command) return [commandFrame(tag)];
  let multitrackType: number | undefined;
  let packetType = outerType;
  if (outerType === VideoPacketType.Multitrack) {
    const multitrack = readMultitrack(tag, "video", [VideoPacketType.Multitrack, VideoPacketType.ModEx]);
    if ("type" in multitrack) return [multitrack];
    ({ multitrackType, packetType } = multitrack);
  }
  if (packetType > VideoPacketType.Mpeg2TsSequenceStart) {
    return [{ type: "ignored", kind: "video", reason: `reserved VideoPacketType ${packetType}` }];
  }
  if (packetType !== VideoPacketType.Metadata) {
    const frameTypeIgnored = reservedFrameType(frameType);
    if (frameTypeIgnored !== undefined) return [frameTypeIgnored];
  }
  const sharedFourcc = multitrackType === AvMultitrackType.ManyTracksManyCodecs ? undefined : tag.fourcc("FourCC");
  const message = { dtsMs, timestampOffsetNs, packetType };
  return readTracks(tag, multitrackType, sharedFourcc, (body, fourcc, trackId) => {
    const row = VIDEO_ROWS[fourcc];
    if (row === undefined) return unknownFourcc("video", fourcc);
    return readExVideoTrack(body, row, trackId, frameType, message);
  });
}

function readExVideoTrack(
  body: Cursor,
  row: VideoRow,
  trackId: number,
  frameType: number,
  message: ExMessage,
): FlvRecord {
  const track = { kind: "video", codec: row.codec, trackId } as const;
  switch (message.packetType) {
    case VideoPacketType.SequenceStart:
      return configRecord(track, row.config(body.rest()));
    case VideoPacketType.CodedFrames:
    case VideoPacketType.CodedFramesX: {
      // CodedFramesX leaves the offset out (0). For AV1 and VP8/9, which have none, it is read like CodedFrames.
      const hasOffset = row.compositionTime && message.packetType === VideoPacketType.CodedFrames;
      const ctsOffsetMs = hasOffset ? body.si24("SI24 CompositionTime") : 0;
      return videoFrame(track, row, frameType, body.rest(), message.dtsMs, ctsOffsetMs, message.timestampOffsetNs);
    }
    case VideoPacketType.SequenceEnd:
      body.rest();
      return { ...track, type: "end" } as const;
    case VideoPacketType.Metadata:
      return { ...track, type: "metadata", amf: nonEmpty(body.rest()) } as const;
    default: // MPEG2TSSequenceStart: the AV1 video descriptor for MPEG-2 TS; liverec uses the av1C SequenceStart.
      body.rest();
      return { type: "ignored", kind: "video", reason: `MPEG2TSSequenceStart (${row.codec}) is not used` };
  }
}

function readExAudioTag(tag: Cursor, first: number, dtsMs: number): FlvRecord[] {
  const { packetType: outerType, timestampOffsetNs } = readModEx(tag, first & 0x0f, AudioPacketType.ModEx);
  let multitrackType: number | undefined;
  let packetType = outerType;
  if (outerType === AudioPacketType.Multitrack) {
    const multitrack = readMultitrack(tag, "audio", [AudioPacketType.Multitrack, AudioPacketType.ModEx]);
    if ("type" in multitrack) return [multitrack];
    ({ multitrackType, packetType } = multitrack);
  }
  if (!AUDIO_PACKET_TYPES.has(packetType)) {
    return [{ type: "ignored", kind: "audio", reason: `reserved AudioPacketType ${packetType}` }];
  }
  const sharedFourcc = multitrackType === AvMultitrackType.ManyTracksManyCodecs ? undefined : tag.fourcc("FourCC");
  const message = { dtsMs, timestampOffsetNs, packetType };
  return readTracks(tag, multitrackType, sharedFourcc, (body, fourcc, trackId) => {
    const row = AUDIO_ROWS[fourcc];
    if (row === undefined) return unknownFourcc("audio", fourcc);
    return readExAudioTrack(body, row, trackId, message);
  });
}

function readExAudioTrack(body: Cursor, row: AudioRow, trackId: number, message: ExMessage): FlvRecord {
  const track = { kind: "audio", codec: row.codec, trackId } as const;
  switch (message.packetType) {
    case AudioPacketType.SequenceStart: {
      const bytes = body.rest();
      if (row.config === undefined) {
        return { type: "ignored", kind: "audio", reason: `${row.codec} has no SequenceStart` };
      }
      return configRecord(track, row.config(bytes));
    }
    case AudioPacketType.CodedFrames: {
      const { dtsMs, timestampOffsetNs } = message;
      return {
        ...track,
        type: "frame",
        dtsMs,
        ctsOffsetMs: 0,
        timestampOffsetNs,
        keyframe: true,
        data: nonEmpty(body.rest()),
      };
    }
    case AudioPacketType.SequenceEnd:
      body.rest();
      return { ...track, type: "end" };
    default: { // MultichannelConfig
      const order = body.u8("AudioChannelOrder");
      const channelOrder = AUDIO_CHANNEL_ORDERS[order];
      if (channelOrder === undefined) throw new Malformed(`reserved AudioChannelOrder ${order}`);
      const channelCount = body.u8("channelCount");
      const channelMapping = channelOrder === "custom" ? [...body.take(channelCount, "audioChannelMapping")] : [];
      const channelFlags = channelOrder === "native" ? body.u32("audioChannelFlags") : 0;
      if (body.remaining > 0) throw new Malformed(`${body.remaining} bytes after the MultichannelConfig`);
      return { ...track, type: "multichannel", channelOrder, channelCount, channelMapping, channelFlags };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Records

function configRecord(track: FlvTrack, verdict: ConfigVerdict): FlvRecord {
  if ("error" in verdict) throw new Malformed(verdict.error);
  if ("ignored" in verdict) return { type: "ignored", kind: track.kind, reason: verdict.ignored };
  return { ...track, type: "config", config: verdict.config };
}

function videoFrame(
  track: FlvTrack & { kind: "video" },
  row: VideoRow,
  frameType: number,
  data: Uint8Array,
  dtsMs: number,
  ctsOffsetMs: number,
  timestampOffsetNs: number,
): FlvFrame {
  const error = row.sampleError(data);
  if (error !== undefined) throw new Malformed(`${row.codec} frame: ${error}`);
  const keyframe = frameType === FrameType.Key || frameType === FrameType.GeneratedKey;
  return { ...track, type: "frame", dtsMs, ctsOffsetMs, timestampOffsetNs, keyframe, data };
}

function nonEmpty(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) throw new Malformed("empty body");
  return bytes;
}

function unknownFourcc(kind: "video" | "audio", fourcc: string): FlvIgnored {
  const name = NOT_RECORDED[fourcc];
  const reason = name === undefined
    ? `unknown ${kind} FourCC ${JSON.stringify(fourcc)}`
    : `${name} (${fourcc}) ${kind} is not recorded`;
  return { type: "ignored", kind, reason };
}
