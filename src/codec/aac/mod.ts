/**
 * Public API of the AAC folder: AudioSpecificConfig parsing and writing, ADTS framing, and the `esds` body that
 * AAC (and MP3, see ../mp3) use in an `mp4a` sample entry. Pure: no containers beyond the esds, no I/O.
 */

export {
  type AacConfig,
  type AscFields,
  AudioObjectType,
  audioSpecificConfig,
  parseAudioSpecificConfig,
  SAMPLING_FREQUENCIES_HZ,
} from "./audio_specific_config.ts";
export {
  ADTS_HEADER_BYTES,
  ADTS_MAX_PAYLOAD_BYTES,
  adtsAudioSpecificConfig,
  type AdtsFrame,
  type AdtsFraming,
  adtsFraming,
  type AdtsHeader,
  adtsHeader,
  parseAdtsHeader,
  splitAdts,
} from "./adts.ts";
export {
  aacEsdsBody,
  type BitRates,
  esdsBody,
  type EsdsFields,
  OTI_MPEG1_AUDIO,
  OTI_MPEG2_AUDIO,
  OTI_MPEG4_AUDIO,
  type Parsed,
  parseEsds,
} from "./esds.ts";
