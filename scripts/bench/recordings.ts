/**
 * After an end-to-end run, checks what landed in fs storage: each bench stream's folder holds a manifest.mpd and
 * media segments. It counts closed objects (not `.part` files) and reads the manifest's type and duration; it
 * decodes nothing.
 */

import { basename } from "node:path";
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
    } else if (/^seg_\d+\.m4s$/.test(name)) {
      check.videoSegments++;
    } else if (/^audio_seg_\d+\.m4s$/.test(name)) {
      check.audioSegments++;
    }
  }
  return check;
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
