/**
 * Reads and writes the MPEG-4 AudioSpecificConfig of AAC (ISO/IEC 14496-3 §1.6.2.1): object type, sampling
 * frequency, channel configuration (with the program_config_element for configuration 0), SBR and PS signalled
 * explicitly (object types 5 and 29) or by the backward-compatible sync extension (0x2b7 / 0x548), and the
 * GASpecificConfig's frame length. It handles the AAC cores Main, LC, SSR and LTP (object types 1-4); other
 * object types (ER, LD, ELD, USAC, ...) are refused with a reason. Implicit SBR/PS (present in the frames, signalled
 * nowhere) cannot be seen here: such a stream reads as plain AAC at the core rate.
 */

import { BitReader } from "../bit_reader.ts";
import { assert } from "../../shared/assert.ts";
import { BadRequestError } from "../../shared/errors.ts";
import type { Parsed } from "./esds.ts";

/** samplingFrequencyIndex to Hz (ISO/IEC 14496-3 §1.6.3.3 Table 1.18); 13 and 14 are reserved, 15 is "explicit". */
export const SAMPLING_FREQUENCIES_HZ: readonly number[] = [
  96000,
  88200,
  64000,
  48000,
  44100,
  32000,
  24000,
  22050,
  16000,
  12000,
  11025,
  8000,
  7350,
];

/** audioObjectType values that matter here (ISO/IEC 14496-3 §1.5.1.1 Table 1.1). */
export const AudioObjectType = {
  AacMain: 1,
  AacLc: 2,
  AacSsr: 3,
  AacLtp: 4,
  /** Spectral Band Replication: HE-AAC (v1). */
  Sbr: 5,
  /** Parametric Stereo (with SBR): HE-AAC v2. */
  Ps: 29,
} as const;

/** The AAC cores liverec reads: their GASpecificConfig is known and ADTS can carry them (profile = type - 1). */
const CORE_OBJECT_TYPES = new Map([[1, "AAC Main"], [2, "AAC LC"], [3, "AAC SSR"], [4, "AAC LTP"]]);

/** channelConfiguration to output channels (ISO/IEC 14496-3 §1.6.3.4 Table 1.19, and 23001-8 for 11-14). */
const CHANNELS_BY_CONFIGURATION: ReadonlyMap<number, number> = new Map([
  [1, 1],
  [2, 2],
  [3, 3],
  [4, 4],
  [5, 5],
  [6, 6],
  [7, 8],
  [11, 7],
  [12, 8],
  [13, 24],
  [14, 8],
]);

/** sync extension types (ISO/IEC 14496-3 §1.6.2.1): SBR after a core config, and PS after that. */
const SYNC_EXTENSION_SBR = 0x2b7;
const SYNC_EXTENSION_PS = 0x548;

/** What an AudioSpecificConfig says, resolved into what a container and a playlist need. */
export interface AacConfig {
  /**
   * The audioObjectType to declare in a `codecs` string: 29 when PS is signalled (HE-AAC v2), 5 when SBR is (HE-AAC),
   * otherwise the core type (2 for LC). HLS (Apple's authoring spec) and DASH-IF practice signal `mp4a.40.2`,
   * `mp4a.40.5` and `mp4a.40.29` for these three, and browsers' MSE accept all three.
   */
  objectType: number;
  /** The core coder's audioObjectType (1-4); 2 for LC, including the LC core under HE-AAC. */
  coreObjectType: number;
  /** SBR is signalled as present (HE-AAC), explicitly or by the sync extension. */
  sbr: boolean;
  /** PS is signalled as present (HE-AAC v2); implies `sbr`. */
  ps: boolean;
  /** The core's samplingFrequencyIndex; 15 when the frequency is given explicitly. */
  samplingFrequencyIndex: number;
  /** The core coder's sampling rate in Hz. */
  coreSampleRateHz: number;
  /** The decoder's output rate in Hz: the SBR extension rate (usually twice the core's), else the core rate. */
  sampleRateHz: number;
  /** channelConfiguration (0: given by a program_config_element). */
  channelConfiguration: number;
  /** Output channels: from the configuration or the program_config_element, 2 when PS makes mono stereo. */
  channels: number;
  /** Core samples per frame: 1024, or 960 when GASpecificConfig's frameLengthFlag is set. */
  coreSamplesPerFrame: number;
  /**
   * Samples per frame at the output rate `sampleRateHz` (2048/1920 with dual-rate SBR): a frame lasts
   * samplesPerFrame / sampleRateHz seconds, which equals coreSamplesPerFrame / coreSampleRateHz. In a track whose
   * timescale is `sampleRateHz`, a frame's duration in ticks is `samplesPerFrame`.
   */
  samplesPerFrame: number;
  /** RFC 6381 `codecs` string, `mp4a.40.` + `objectType`. */
  codecs: string;
}

/** Parses an AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1); never throws. */
export function parseAudioSpecificConfig(asc: Uint8Array): Parsed<AacConfig> {
  try {
    return parse(new BitReader(asc, "AudioSpecificConfig"));
  } catch (error) {
    if (error instanceof BadRequestError) return { ok: false, reason: error.message };
    throw error;
  }
}

function parse(r: BitReader): Parsed<AacConfig> {
  const fail = (reason: string): Parsed<AacConfig> => ({ ok: false, reason: `invalid AudioSpecificConfig: ${reason}` });
  let objectType = audioObjectType(r);
  const core = samplingFrequency(r, "samplingFrequencyIndex");
  if (typeof core === "string") return fail(core);
  const channelConfiguration = r.bits(4, "channelConfiguration");
  let sbr = false;
  let ps = false;
  let extensionRateHz: number | null = null;
  const explicitSbr = objectType === AudioObjectType.Sbr || objectType === AudioObjectType.Ps;
  if (explicitSbr) {
    sbr = true;
    ps = objectType === AudioObjectType.Ps;
    const extension = samplingFrequency(r, "extensionSamplingFrequencyIndex");
    if (typeof extension === "string") return fail(extension);
    extensionRateHz = extension.hz;
    objectType = audioObjectType(r);
  }
  const coreName = CORE_OBJECT_TYPES.get(objectType);
  if (coreName === undefined) {
    return fail(`audioObjectType ${objectType} is not an AAC core liverec handles (1-4: Main, LC, SSR, LTP)`);
  }
  if (!CHANNELS_BY_CONFIGURATION.has(channelConfiguration) && channelConfiguration !== 0) {
    return fail(`channelConfiguration ${channelConfiguration} is reserved`);
  }

  // GASpecificConfig (ISO/IEC 14496-3 §4.4.1); object types 1-4 have neither layerNr nor the ER extension fields.
  const frameLengthFlag = r.flag("frameLengthFlag");
  if (r.flag("dependsOnCoreCoder")) r.bits(14, "coreCoderDelay");
  const extensionFlag = r.flag("extensionFlag");
  let channels = CHANNELS_BY_CONFIGURATION.get(channelConfiguration) ?? 0;
  if (channelConfiguration === 0) channels = programConfigElementChannels(r);
  if (extensionFlag) r.bits(1, "extensionFlag3");

  if (!explicitSbr && r.bitsLeft >= 16) {
    const syncExtensionType = r.bits(11, "syncExtensionType");
    if (syncExtensionType === SYNC_EXTENSION_SBR && audioObjectType(r) === AudioObjectType.Sbr) {
      sbr = r.flag("sbrPresentFlag");
      if (sbr) {
        const extension = samplingFrequency(r, "extensionSamplingFrequencyIndex");
        if (typeof extension === "string") return fail(extension);
        extensionRateHz = extension.hz;
        if (r.bitsLeft >= 12 && r.bits(11, "syncExtensionType") === SYNC_EXTENSION_PS) ps = r.flag("psPresentFlag");
      }
    }
  }

  if (channels === 0) return fail("no channels");
  const coreSamplesPerFrame = frameLengthFlag ? 960 : 1024;
  const sampleRateHz = extensionRateHz ?? core.hz;
  const samplesPerFrame = (coreSamplesPerFrame * sampleRateHz) / core.hz;
  if (!Number.isInteger(samplesPerFrame)) {
    return fail(`SBR rate ${sampleRateHz} Hz is neither the core rate ${core.hz} Hz nor twice it`);
  }
  const declared = ps ? AudioObjectType.Ps : sbr ? AudioObjectType.Sbr : objectType;
  return {
    ok: true,
    value: {
      objectType: declared,
      coreObjectType: objectType,
      sbr,
      ps,
      samplingFrequencyIndex: core.index,
      coreSampleRateHz: core.hz,
      sampleRateHz,
      channelConfiguration,
      // PS turns a mono core into stereo output (ISO/IEC 14496-3 §8.6.4).
      channels: ps && channels === 1 ? 2 : channels,
      coreSamplesPerFrame,
      samplesPerFrame,
      codecs: `mp4a.40.${declared}`,
    },
  };
}

/** GetAudioObjectType(): 5 bits, 31 escaping to 32 + 6 more bits (ISO/IEC 14496-3 §1.6.2.1.1). */
function audioObjectType(r: BitReader): number {
  const type = r.bits(5, "audioObjectType");
  return type === 31 ? 32 + r.bits(6, "audioObjectTypeExt") : type;
}

/** A samplingFrequencyIndex and its rate, reading the explicit 24-bit frequency after index 15. */
function samplingFrequency(r: BitReader, field: string): { index: number; hz: number } | string {
  const index = r.bits(4, field);
  if (index === 15) {
    const hz = r.bits(24, "samplingFrequency");
    return hz > 0 ? { index, hz } : "samplingFrequency is 0";
  }
  const hz = SAMPLING_FREQUENCIES_HZ[index];
  return hz === undefined ? `${field} ${index} is reserved` : { index, hz };
}

/**
 * Reads a program_config_element (ISO/IEC 14496-3 §4.4.1.1, Table 4.2) and counts its output channels: one per
 * single channel element or LFE, two per channel pair element. Coupling and data elements carry no channels.
 */
function programConfigElementChannels(r: BitReader): number {
  r.bits(4, "element_instance_tag");
  r.bits(2, "object_type");
  r.bits(4, "sampling_frequency_index");
  const front = r.bits(4, "num_front_channel_elements");
  const side = r.bits(4, "num_side_channel_elements");
  const back = r.bits(4, "num_back_channel_elements");
  const lfe = r.bits(2, "num_lfe_channel_elements");
  const assocData = r.bits(3, "num_assoc_data_elements");
  const validCc = r.bits(4, "num_valid_cc_elements");
  if (r.flag("mono_mixdown_present")) r.bits(4, "mono_mixdown_element_number");
  if (r.flag("stereo_mixdown_present")) r.bits(4, "stereo_mixdown_element_number");
  if (r.flag("matrix_mixdown_idx_present")) r.bits(3, "matrix_mixdown_idx, pseudo_surround_enable");
  let channels = 0;
  for (let i = 0; i < front + side + back; i++) {
    channels += r.flag("is_cpe") ? 2 : 1;
    r.bits(4, "element_tag_select");
  }
  channels += lfe;
  for (let i = 0; i < lfe; i++) r.bits(4, "lfe_element_tag_select");
  for (let i = 0; i < assocData; i++) r.bits(4, "assoc_data_element_tag_select");
  for (let i = 0; i < validCc; i++) r.bits(5, "cc_element_is_ind_sw, valid_cc_element_tag_select");
  r.bits(r.bitsLeft % 8, "byte_alignment"); // the ASC starts byte-aligned, so this aligns to it
  const commentBytes = r.bits(8, "comment_field_bytes");
  for (let i = 0; i < commentBytes; i++) r.bits(8, "comment_field_data");
  return channels;
}

/** The fields of a plain AudioSpecificConfig: no SBR/PS signalling, a 1024-sample frame, no PCE. */
export interface AscFields {
  /** audioObjectType, 1-30 (the escape is not written). */
  objectType: number;
  /** samplingFrequencyIndex 0-12. */
  samplingFrequencyIndex: number;
  /** channelConfiguration 1-7. */
  channelConfiguration: number;
}

/** A 2-byte AudioSpecificConfig with an empty GASpecificConfig (ISO/IEC 14496-3 §1.6.2.1), e.g. from ADTS fields. */
export function audioSpecificConfig(
  { objectType, samplingFrequencyIndex, channelConfiguration }: AscFields,
): Uint8Array {
  assert(objectType >= 1 && objectType <= 30, `audioObjectType must be 1-30, got ${objectType}`);
  assert(
    samplingFrequencyIndex >= 0 && samplingFrequencyIndex <= 12,
    `bad samplingFrequencyIndex ${samplingFrequencyIndex}`,
  );
  assert(channelConfiguration >= 1 && channelConfiguration <= 7, `bad channelConfiguration ${channelConfiguration}`);
  const bits = (objectType << 11) | (samplingFrequencyIndex << 7) | (channelConfiguration << 3); // + 3 zero GA bits
  return new Uint8Array([bits >> 8, bits & 0xff]);
}
