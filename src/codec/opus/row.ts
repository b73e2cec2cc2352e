/**
 * The Opus row of the codec table: RFC 7587 over RTP, one Opus packet per sample, `Opus` with `dOps` (mapping
 * family 0: mono or stereo). Multichannel Opus (mapping families 1 and 255) is not recorded.
 */

import type { AudioCodec, AudioFormat, FmtpVerdict } from "../codec.ts";
import { OpusDepacketizer } from "./depacketizer.ts";
import { dOpsPayload, opusPacketDurationSamples } from "./opus.ts";

/** Opus as liverec records it; its RTP clock and the decoder's output rate are always 48 kHz (RFC 7587 §4.1). */
export const opus: AudioCodec = {
  kind: "audio",
  name: "opus",
  sdpName: "opus",
  clockRate: 48_000,
  readFmtp: (): FmtpVerdict => ({ rank: 0, parameterSets: [] }),
  // SDP always says opus/48000/2 (RFC 7587 §7); `sprop-stereo=0` is the sender saying it sends mono. Without it the
  // track is declared stereo: a decoder plays mono packets on both channels, and no stereo is folded down.
  channels: (fmtp) => fmtp.get("sprop-stereo") === "0" ? 1 : 2,
  createDepacketizer: () => new OpusDepacketizer(),
  format,
  frameDurationTicks: (frame) => opusPacketDurationSamples(frame.data),
};

function format(channels: number): AudioFormat {
  const dOps = dOpsPayload({ channels, preSkip: 0, inputSampleRate: 48_000 });
  return {
    sampleEntry: { fourcc: "Opus", config: { fourcc: "dOps", body: dOps } },
    channels,
    sampleRate: 48_000,
    codecs: "opus",
  };
}
