/**
 * The MP3 row of the frame-based codec table: MPEG audio layer III frames, as `mp4a` with an `esds` naming MPEG-1
 * (0x6B) or MPEG-2 (0x69) audio and no decoder configuration; everything comes from the first frame's header.
 */

import type { FrameAudioCodec, FramedAudioFormat } from "../codec.ts";
import { mp3EsdsBody, parseMp3FrameHeader } from "./frame_header.ts";

/** MP3; the track's timescale is the first frame's sample rate. */
export const mp3: FrameAudioCodec = {
  kind: "audio",
  name: "mp3",
  format(_config, firstFrame): FramedAudioFormat | { refused: string } {
    const parsed = parseMp3FrameHeader(firstFrame);
    if (!parsed.ok) return { refused: `MP3 frame header: ${parsed.reason}` };
    const header = parsed.value;
    return {
      sampleEntry: { fourcc: "mp4a", config: { fourcc: "esds", body: mp3EsdsBody(header) } },
      channels: header.channels,
      sampleRate: header.sampleRateHz,
      codecs: header.codecs,
      frameDurationTicks(frame) {
        const next = parseMp3FrameHeader(frame);
        // A frame at another rate would need another track: it is dropped.
        return next.ok && next.value.sampleRateHz === header.sampleRateHz ? next.value.samplesPerFrame : 0;
      },
    };
  },
};
