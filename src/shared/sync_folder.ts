/** Durable renames: after a rename, syncing the folder makes the new name survive a power cut. */

import { closeSync, fdatasync, openSync } from "node:fs";
import { promisify } from "node:util";

const fdatasyncAsync = promisify(fdatasync);

/**
 * Makes the renames and creations in folder `dir` durable. Only the sync, which waits for the disk, leaves the event
 * loop: the open and the close take microseconds, less than the two thread wake-ups of an asynchronous call.
 */
export async function syncFolder(dir: string): Promise<void> {
  const fd = openSync(dir, "r");
  try {
    await fdatasyncAsync(fd);
  } finally {
    closeSync(fd);
  }
}
