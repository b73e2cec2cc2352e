/** The test clip as the RTP packets a WebRTC publisher would send, in send order, for pure pipeline tests. */

import type { Clip } from "../../scripts/clip.ts";
import { AUDIO_CODECS, packetizeH264, VIDEO_CODECS } from "../../src/codec/mod.ts";
import type { SourceTrack } from "../../src/recorder/mod.ts";
import type { RtpPacket } from "../../src/rtp/mod.ts";

/** The clip's tracks as a WHIP publish negotiates them: H.264 and stereo Opus. */
export const CLIP_TRACKS: readonly SourceTrack[] = [
  { kind: "video", codec: VIDEO_CODECS.get("h264")!, payloadType: 96, parameterSets: [] },
  { kind: "audio", codec: AUDIO_CODECS.get("opus")!, payloadType: 111, channels: 2 },
];

export interface TimedPacket {
  kind: "video" | "audio";
  packet: RtpPacket;
  /** Arrival time in ms: the media time plus a fixed base, as on a loss-free link. */
  arrivalMs: number;
}

export interface ClipPacketOptions {
  seconds: number;
  videoTimestampStart?: number;
  audioTimestampStart?: number;
  videoSequenceStart?: number;
  audioSequenceStart?: number;
  baseMs?: number;
}

/** Packetizes the looped clip for `seconds` of media; H.264 in packetization-mode 1 with a 1200-byte MTU. */
export function clipPackets(clip: Clip, opts: ClipPacketOptions): TimedPacket[] {
  const out: (TimedPacket & { ms: number })[] = [];
  const baseMs = opts.baseMs ?? 1_700_000_000_000;
  let videoSeq = opts.videoSequenceStart ?? 1000;
  let audioSeq = opts.audioSequenceStart ?? 2000;
  for (let loopMs = 0; loopMs < opts.seconds * 1000; loopMs += clip.durationMs) {
    for (const frame of clip.video) {
      const ms = loopMs + frame.ticks / 90;
      if (ms >= opts.seconds * 1000) break;
      const timestamp = ((opts.videoTimestampStart ?? 0) + Math.round(loopMs * 90) + frame.ticks) >>> 0;
      const payloads = packetizeH264(frame.nalUnits, { mtu: 1200, mode: 1 });
      payloads.forEach((payload, i) => {
        const packet = packetOf(videoSeq++, timestamp, i === payloads.length - 1, 96, payload);
        out.push({ kind: "video", packet, arrivalMs: baseMs + ms, ms });
      });
    }
    for (const frame of clip.audio) {
      const ms = loopMs + frame.ticks / 48;
      if (ms >= opts.seconds * 1000) break;
      const timestamp = ((opts.audioTimestampStart ?? 0) + Math.round(loopMs * 48) + frame.ticks) >>> 0;
      out.push({
        kind: "audio",
        packet: packetOf(audioSeq++, timestamp, false, 111, frame.data),
        arrivalMs: baseMs + ms,
        ms,
      });
    }
  }
  return out.sort((a, b) => a.ms - b.ms).map(({ kind, packet, arrivalMs }) => ({ kind, packet, arrivalMs }));
}

function packetOf(
  seq: number,
  timestamp: number,
  marker: boolean,
  payloadType: number,
  payload: Uint8Array,
): RtpPacket {
  return { payloadType, sequenceNumber: seq & 0xffff, timestamp, marker, ssrc: payloadType, payload };
}
