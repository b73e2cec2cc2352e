/**
 * The remux-core benchmark: the test clip, looped and packetized into RTP ahead of time, fed through one
 * RecordingPipeline (reorder -> depacketize -> segment -> fMP4) with start() and flush(). It times CPU and wall
 * clock of the pipeline alone; no WebRTC, SRTP, sockets or storage writes are involved.
 */

import process from "node:process";
import type { Clip } from "../clip.ts";
import { RecordingPipeline } from "../../src/recorder/pipeline.ts";
import type { TrackKind } from "../../src/recorder/source.ts";
import { packetizeH264 } from "../../src/codec/mod.ts";
import type { RtpPacket } from "../../src/rtp/mod.ts";
import { CLIP_TRACKS } from "../../tests/helpers/clip_packets.ts";

/** One packet as the pipeline receives it, with the arrival time a real-time sender would give it. */
export interface TimedPacket {
  kind: TrackKind;
  packet: RtpPacket;
  arrivalMs: number;
}

/** Packets of `mediaSeconds` of the looped clip, interleaved by media time, plus their totals. */
export interface PacketizedClip {
  packets: TimedPacket[];
  mediaSeconds: number;
  payloadBytes: number;
  videoFrames: number;
  audioFrames: number;
}

/** One timed run of the pipeline over all packets. */
export interface RemuxRun {
  cpuMs: number;
  wallMs: number;
  segments: number;
  outputBytes: number;
}

// Arbitrary non-zero starts; the video sequence wraps past 65535 during a 60 s run.
const VIDEO_SEQ_START = 60_000;
const AUDIO_SEQ_START = 12_345;
const VIDEO_TS_START = 0x9000_0000;
const AUDIO_TS_START = 0x1234_5678;

/** Loops `clip` to `mediaSeconds` and packetizes it like the WHIP publisher: H.264 mode 1 at mtu 1200, one Opus frame a packet. */
export function packetizeClip(clip: Clip, mediaSeconds: number): PacketizedClip {
  const endMs = mediaSeconds * 1000;
  const events: { ms: number; order: number; packets: TimedPacket[] }[] = [];
  let videoSeq = VIDEO_SEQ_START;
  let audioSeq = AUDIO_SEQ_START;
  let payloadBytes = 0;
  let videoFrames = 0;
  let audioFrames = 0;
  for (let loop = 0; loop * clip.durationMs < endMs; loop++) {
    const loopMs = loop * clip.durationMs;
    for (const frame of clip.video) {
      const ms = loopMs + frame.ticks / 90;
      if (ms >= endMs) continue;
      const timestamp = (VIDEO_TS_START + Math.round(loopMs * 90) + frame.ticks) >>> 0;
      const payloads = packetizeH264(frame.nalUnits, { mtu: 1200, mode: 1 });
      const packets = payloads.map((payload, i): TimedPacket => {
        payloadBytes += payload.length;
        const packet = {
          payloadType: 96,
          sequenceNumber: videoSeq++ & 0xffff,
          timestamp,
          marker: i === payloads.length - 1,
          ssrc: 1,
          payload,
        };
        return { kind: "video", packet, arrivalMs: ms };
      });
      events.push({ ms, order: events.length, packets });
      videoFrames++;
    }
    for (const frame of clip.audio) {
      const ms = loopMs + frame.ticks / 48;
      if (ms >= endMs) continue;
      const timestamp = (AUDIO_TS_START + Math.round(loopMs * 48) + frame.ticks) >>> 0;
      payloadBytes += frame.data.length;
      const packet = {
        payloadType: 111,
        sequenceNumber: audioSeq++ & 0xffff,
        timestamp,
        marker: false,
        ssrc: 2,
        payload: frame.data,
      };
      events.push({ ms, order: events.length, packets: [{ kind: "audio", packet, arrivalMs: ms }] });
      audioFrames++;
    }
  }
  events.sort((a, b) => a.ms - b.ms || a.order - b.order);
  return { packets: events.flatMap((e) => e.packets), mediaSeconds, payloadBytes, videoFrames, audioFrames };
}

/** Feeds every packet through a fresh pipeline (start, pushRtp..., flush) and times it. */
export function runRemux(clip: PacketizedClip, segmentDurationMs = 6000): RemuxRun {
  let segments = 0;
  let outputBytes = 0;
  const count = (outputs: ReturnType<RecordingPipeline["flush"]>) => {
    for (const out of outputs) {
      if (out.type === "segment") {
        segments++;
        outputBytes += out.sizeBytes;
      } else {
        outputBytes += out.bytes.byteLength;
      }
    }
  };
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  const pipeline = new RecordingPipeline({ tracks: CLIP_TRACKS, segmentDurationMs, firstNumber: 1 });
  count(pipeline.start());
  for (const { kind, packet, arrivalMs } of clip.packets) count(pipeline.pushRtp(kind, packet, arrivalMs));
  count(pipeline.flush());
  const wallMs = performance.now() - wallStart;
  const cpu = process.cpuUsage(cpuStart);
  const stats = pipeline.stats;
  if (stats.videoFrames !== clip.videoFrames || stats.audioFrames !== clip.audioFrames || stats.lostPackets !== 0) {
    throw new Error(
      `remux lost media: ${stats.videoFrames}/${clip.videoFrames} video and ${stats.audioFrames}/${clip.audioFrames}` +
        ` audio frames, ${stats.lostPackets} lost packets`,
    );
  }
  return { cpuMs: (cpu.user + cpu.system) / 1000, wallMs, segments, outputBytes };
}
