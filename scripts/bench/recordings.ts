/**
 * After an end-to-end run, checks what landed in fs storage: each bench stream's folder holds a manifest.mpd and
 * media segments. It counts files and reads the manifest's type; it does not decode anything.
 */

import { join } from "node:path";

/** What one stream left in storage. */
export interface RecordingCheck {
  stream: string;
  manifests: number;
  /** True when every manifest is final (`type="static"`). */
  finalized: boolean;
  videoSegments: number;
  audioSegments: number;
  bytes: number;
}

/** Walks `<root>/<stream>/` (any date folders below it) and counts manifests and segments. */
export async function checkRecording(root: string, stream: string): Promise<RecordingCheck> {
  const check: RecordingCheck = { stream, manifests: 0, finalized: true, videoSegments: 0, audioSegments: 0, bytes: 0 };
  const walk = async (dir: string): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) {
        await walk(path);
        continue;
      }
      check.bytes += (await Deno.stat(path)).size;
      if (entry.name === "manifest.mpd") {
        check.manifests++;
        if (!/type="static"/.test(await Deno.readTextFile(path))) check.finalized = false;
      } else if (/^seg_\d+\.m4s$/.test(entry.name)) {
        check.videoSegments++;
      } else if (/^audio_seg_\d+\.m4s$/.test(entry.name)) {
        check.audioSegments++;
      }
    }
  };
  await walk(join(root, stream));
  return check;
}

/** True when a check found a finished recording with at least one segment of each track. */
export function recordingOk(check: RecordingCheck): boolean {
  return check.manifests > 0 && check.finalized && check.videoSegments > 0 && check.audioSegments > 0;
}
