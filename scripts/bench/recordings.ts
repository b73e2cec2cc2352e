/**
 * After an end-to-end run, checks what landed in fs storage: each bench stream's folder holds a manifest.mpd and
 * media segments. It counts closed objects (not `.part` files), reads the manifest's type and duration, and counts
 * the frames of each track with ffprobe (`-count_packets`: it demuxes, it does not decode).
 */

import { basename, join } from "node:path";
import { LocalObjects } from "../../src/storage/mod.ts";

/** What one stream left in storage. */
export interface RecordingCheck {
  stream: string;
  manifests: number;
  /** True when every manifest is final (`type="static"`). */
  finalized: boolean;
  videoSegments: number;
  audioSegments: number;
  bytes: number;
  /** The manifests' `mediaPresentationDuration`, summed, in seconds (0 while none is final). */
  durationS: number;
  /** Frames ffprobe counts through the manifests, per track kind. */
  videoFrames: number;
  audioFrames: number;
}

/** Lists the objects below `<root>/<stream>/` (any date folders) as the service's storage does, and counts them. */
export async function checkRecording(root: string, stream: string): Promise<RecordingCheck> {
  const check: RecordingCheck = {
    stream,
    manifests: 0,
    finalized: true,
    videoSegments: 0,
    audioSegments: 0,
    bytes: 0,
    durationS: 0,
    videoFrames: 0,
    audioFrames: 0,
  };
  const storage = new LocalObjects(root);
  for (const key of await storage.list(`${stream}/`)) {
    const name = basename(key);
    check.bytes += (await storage.stat(key))?.sizeBytes ?? 0;
    if (name === "manifest.mpd") {
      check.manifests++;
      const mpd = new TextDecoder().decode(await storage.read(key));
      if (!/type="static"/.test(mpd)) check.finalized = false;
      check.durationS += isoDurationS(/mediaPresentationDuration="([^"]+)"/.exec(mpd)?.[1] ?? "PT0S");
      const frames = await countFrames(join(root, key));
      check.videoFrames += frames.video;
      check.audioFrames += frames.audio;
    } else if (/^seg_\d+\.m4s$/.test(name)) {
      check.videoSegments++;
    } else if (/^audio_seg_\d+\.m4s$/.test(name)) {
      check.audioSegments++;
    }
  }
  return check;
}

/** The frames (packets) of a manifest's video and audio tracks, as ffprobe demuxes them; zeros when it cannot. */
async function countFrames(manifestPath: string): Promise<{ video: number; audio: number }> {
  const args = ["-v", "error", "-count_packets", "-show_entries", "stream=codec_type,nb_read_packets", "-of", "json"];
  const output = await new Deno.Command("ffprobe", { args: [...args, manifestPath], stdout: "piped", stderr: "null" })
    .output();
  const frames = { video: 0, audio: 0 };
  if (!output.success) return frames;
  const { streams = [] } = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    streams?: { codec_type?: string; nb_read_packets?: string }[];
  };
  for (const stream of streams) {
    if (stream.codec_type === "video" || stream.codec_type === "audio") {
      frames[stream.codec_type] += Number(stream.nb_read_packets ?? 0);
    }
  }
  return frames;
}

/** True when a check found a finished recording with at least one segment of each track. */
export function recordingOk(check: RecordingCheck): boolean {
  return check.manifests > 0 && check.finalized && check.videoSegments > 0 && check.audioSegments > 0;
}

/** `recordingOk`, and at least `mediaSeconds - toleranceS` of media in it: nothing lost on the way. */
export function recordingComplete(check: RecordingCheck, mediaSeconds: number, toleranceS = 1): boolean {
  return recordingOk(check) && check.durationS >= mediaSeconds - toleranceS;
}

/** Seconds of an ISO 8601 duration as the MPD writes it (`PT1M0.5S`); NaN for anything else. */
export function isoDurationS(text: string): number {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(text);
  if (match === null) return NaN;
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}
