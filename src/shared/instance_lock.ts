/**
 * One liverec per folder: a lock file holding the owner's PID, created exclusively. A second service on the same
 * state or storage folders is refused before it touches anything (a recovery run by it would finish the first one's
 * recordings under it). A lock left by a process that is gone (kill -9, a power cut) is taken over. Uses `node:fs`
 * only, so it works under Deno and Bun alike; it does not guard against other programs writing to the folders.
 */

import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";

/** Another live process holds the lock. */
export class LockedError extends Error {
  override name = "LockedError";
}

/** A held lock; `release()` removes it (a second call does nothing). */
export interface InstanceLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock file at `path` for process `pid`. Throws LockedError naming the holder when a live process holds
 * it; `isAlive` tells whether a PID is a running process (injected for tests).
 */
export function takeLock(path: string, pid: number, isAlive: (pid: number) => boolean): InstanceLock {
  mkdirSync(dirname(path), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      let held = true;
      return {
        path,
        release() {
          if (!held) return;
          held = false;
          if (holderOf(path) === pid) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as { code?: string }).code !== "EEXIST") throw error;
    }
    const holder = holderOf(path);
    if (holder !== undefined && holder !== pid && isAlive(holder)) {
      throw new LockedError(`another liverec (pid ${holder}) is using ${dirname(path)}; stop it first`);
    }
    // Left by a process that is gone (or unreadable): take it over.
    rmSync(path, { force: true });
  }
  throw new LockedError(`cannot take the lock ${path}: another process keeps creating it`);
}

/** The PID written in the lock file, or undefined when it is missing or unreadable. */
function holderOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a running process, by signal 0 (Linux and macOS). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}
