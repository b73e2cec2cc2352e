/**
 * The AAC row of the frame-based codec table: raw AAC frames after an AudioSpecificConfig (RTMP's AAC sequence
 * header), as `mp4a` with an `esds` carrying that configuration (ISO/IEC 14496-14 §5.6), codecs `mp4a.40.N`.
 */

import type { FrameAudioCodec, FramedAudioFormat } from "../codec.ts";
import { parseAudioSpecificConfig } from "./audio_specific_config.ts";
import { aacEsdsBody } from "./esds.ts";

/** AAC LC, HE-AAC and HE-AAC v2; the track's timescale is the decoder's output rate. */
export const aac: FrameAudioCodec = {
  kind: "audio",
  name: "aac",
  format(config): FramedAudioFormat | { refused: string } {
    if (config === undefined) return { refused: "AAC without an AudioSpecificConfig (no sequence header)" };
    const parsed = parseAudioSpecificConfig(config);
    if (!parsed.ok) return { refused: `AAC AudioSpecificConfig: ${parsed.reason}` };
    const { sampleRateHz, channels, samplesPerFrame, codecs } = parsed.value;
    return {
      sampleEntry: { fourcc: "mp4a", config: { fourcc: "esds", body: aacEsdsBody(config) } },
      channels,
      sampleRate: sampleRateHz,
      codecs,
      frameDurationTicks: (frame) => frame.length === 0 ? 0 : samplesPerFrame,
    };
  },
};
