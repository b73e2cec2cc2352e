/**
 * The Opus row of the codec table: RFC 7587 over RTP, one Opus packet per sample, `Opus` with `dOps` (mapping
 * family 0: mono or stereo). Multichannel Opus (mapping families 1 and 255) is not recorded.
 */

import type { AudioCodec, AudioFormat, FmtpVerdict, FrameAudioCodec, FramedAudioFormat } from "../codec.ts";
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

/**
 * Opus as Enhanced RTMP carries it: packets after an Opus ID header ("OpusHead", RFC 7845 §5.1), whose channel count
 * and pre-skip go into `dOps`; without one, stereo. Mapping families other than 0 are not recorded.
 */
export const framedOpus: FrameAudioCodec = {
  kind: "audio",
  name: "opus",
  format(config): FramedAudioFormat | { refused: string } {
    let channels = 2;
    let preSkip = 0;
    let inputSampleRate = 48_000;
    if (config !== undefined && config.length > 0) {
      const head = new DataView(config.buffer, config.byteOffset, config.byteLength);
      const magic = new TextDecoder().decode(config.subarray(0, 8));
      if (config.length < 19 || magic !== "OpusHead") return { refused: "Opus ID header: not an OpusHead packet" };
      if (config[18] !== 0) return { refused: `Opus channel mapping family ${config[18]} (only 0 is recorded)` };
      channels = config[9]!;
      if (channels < 1 || channels > 2) return { refused: `Opus with ${channels} channels in mapping family 0` };
      preSkip = head.getUint16(10, true);
      inputSampleRate = head.getUint32(12, true);
    }
    const dOps = dOpsPayload({ channels, preSkip, inputSampleRate });
    return {
      sampleEntry: { fourcc: "Opus", config: { fourcc: "dOps", body: dOps } },
      channels,
      sampleRate: 48_000,
      codecs: "opus",
      frameDurationTicks: (frame) => opusPacketDurationSamples(frame),
    };
  },
};
