/**
 * Reads the bundled test clip (an MP4 with H.264 and Opus, see make_clip.sh) into RTP-ready frames: NAL units
 * with 90 kHz timestamps and Opus packets with 48 kHz timestamps. mp4box.js does the demuxing.
 */

import { createFile, MP4BoxBuffer, type Sample } from "mp4box";
import { splitLengthPrefixed } from "../src/codec/mod.ts";

export const CLIP_PATH = new URL("../tests/fixtures/clip.mp4", import.meta.url);

export interface ClipVideoFrame {
  /** Presentation time in 90 kHz ticks from the clip's start. */
  ticks: number;
  keyframe: boolean;
  nalUnits: Uint8Array[];
}

export interface ClipAudioFrame {
  /** Presentation time in 48 kHz ticks from the clip's start. */
  ticks: number;
  data: Uint8Array;
}

export interface Clip {
  video: ClipVideoFrame[];
  audio: ClipAudioFrame[];
  /** The clip's video duration, which is also its loop period, in ms. */
  durationMs: number;
}

/** Loads and demuxes a clip; the SPS and PPS are put in front of every keyframe, as WebRTC senders do. */
export async function loadClip(path: string | URL = CLIP_PATH): Promise<Clip> {
  const bytes = await Deno.readFile(path);
  const file = createFile();
  const samples: Sample[] = [];
  let ready = false;
  file.onReady = (info: { tracks: { id: number }[] }) => {
    ready = true;
    for (const track of info.tracks) file.setExtractionOptions(track.id, null, { nbSamples: 1_000_000 });
    file.start();
  };
  file.onSamples = (_id: number, _user: unknown, batch: Sample[]) => {
    samples.push(...batch);
  };
  file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(bytes.buffer.slice(0) as ArrayBuffer, 0));
  file.flush();
  if (!ready) throw new Error(`${path}: not a readable MP4`);
  // deno-lint-ignore no-explicit-any
  const avcC = (file.getTrackById(1) as any).mdia.minf.stbl.stsd.entries[0].avcC;
  const parameterSets: Uint8Array[] = [
    ...avcC.SPS.map((s: { data: Uint8Array }) => s.data),
    ...avcC.PPS.map((p: { data: Uint8Array }) => p.data),
  ];
  const video: ClipVideoFrame[] = [];
  const audio: ClipAudioFrame[] = [];
  let durationMs = 0;
  for (const sample of samples) {
    const data = sample.data ?? new Uint8Array();
    if (sample.track_id === 1) {
      const nalUnits = splitLengthPrefixed(data);
      video.push({
        ticks: Math.round(sample.cts * 90_000 / sample.timescale),
        keyframe: sample.is_sync,
        nalUnits: sample.is_sync ? [...parameterSets, ...nalUnits] : nalUnits,
      });
      durationMs = Math.max(durationMs, (sample.cts + sample.duration) * 1000 / sample.timescale);
    } else {
      audio.push({ ticks: Math.round(sample.cts * 48_000 / sample.timescale), data });
    }
  }
  // Keep exactly one loop period of audio so that looping neither overlaps nor drifts.
  return { video, audio: audio.filter((frame) => frame.ticks < durationMs * 48), durationMs };
}
