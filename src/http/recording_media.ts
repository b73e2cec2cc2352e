/** A recording's media read back from storage: its periods from the folder's index, and the whole of it as one MP4. */

import type { RecordingRow } from "../catalog/mod.ts";
import { recordingMp4, type StoredPeriod } from "../export/mod.ts";
import { INDEX_NAME, parseIndex } from "../recorder/mod.ts";
import type { RecordingFiles } from "../storage/mod.ts";

/** The whole recording as one MP4: the one merged when it ended, or else merged now from its periods. */
export async function wholeMp4(files: RecordingFiles, row: RecordingRow): Promise<Uint8Array> {
  const merged = row.mp4Path === undefined ? undefined : await files.read(row.mp4Path);
  if (merged !== undefined) return merged;
  const periods = (await periodsOf(files, row.recordDir)).filter((p) => p.period.recordId === row.recordId);
  return await recordingMp4((key) => files.read(key), periods);
}

/** Every period the index of `recordDir` lists, of every recording in that folder. */
export async function periodsOf(files: RecordingFiles, recordDir: string): Promise<StoredPeriod[]> {
  const bytes = await files.read(`${recordDir}/${INDEX_NAME}`);
  if (bytes === undefined) return [];
  return parseIndex(bytes).periods.map((period) => ({ recordDir, period }));
}
