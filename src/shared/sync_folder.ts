/** Durable renames: after a rename, syncing the folder makes the new name survive a power cut. */

import { open } from "node:fs/promises";

/** Makes the renames and creations in folder `dir` durable. */
export async function syncFolder(dir: string): Promise<void> {
  const folder = await open(dir, "r");
  try {
    await folder.datasync();
  } finally {
    await folder.close();
  }
}
