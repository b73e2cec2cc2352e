/** Durable writes and renames: fdatasync a file's bytes, and sync a folder so that a new name survives a power cut. */

import { closeSync, fdatasync, openSync } from "node:fs";
import { promisify } from "node:util";

/** fdatasync on descriptor `fd`, off the event loop: it waits for the disk. */
export const datasync: (fd: number) => Promise<void> = promisify(fdatasync);

/**
 * Makes the renames and creations in folder `dir` durable. Only the sync, which waits for the disk, leaves the event
 * loop: the open and the close take microseconds, less than the two thread wake-ups of an asynchronous call.
 */
export async function syncFolder(dir: string): Promise<void> {
  const fd = openSync(dir, "r");
  try {
    await datasync(fd);
  } finally {
    closeSync(fd);
  }
}
