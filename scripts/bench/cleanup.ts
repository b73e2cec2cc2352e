/**
 * Last-in-first-out cleanup for the benchmark: child processes to end and temp dirs to remove, run on normal exit,
 * on failure and on SIGINT/SIGTERM. It only ends processes the benchmark itself registered.
 */

type Task = () => Promise<void> | void;

const tasks: { name: string; task: Task }[] = [];
let running: Promise<void> | undefined;
let signalled = false;

/** True once SIGINT or SIGTERM arrived; errors after that are the interruption, not failures worth a stack. */
export function interrupted(): boolean {
  return signalled;
}

/** Registers `task`; the returned function unregisters it (for resources already released the normal way). */
export function onCleanup(name: string, task: Task): () => void {
  const entry = { name, task };
  tasks.push(entry);
  return () => {
    const at = tasks.indexOf(entry);
    if (at >= 0) tasks.splice(at, 1);
  };
}

/** Runs every registered task once, newest first; errors are reported, not thrown. */
export function runCleanup(): Promise<void> {
  running ??= (async () => {
    while (tasks.length > 0) {
      const { name, task } = tasks.pop()!;
      try {
        await task();
      } catch (error) {
        console.error(`bench: cleanup of ${name} failed: ${error instanceof Error ? error.message : error}`);
      }
    }
  })();
  return running;
}

/** Cleans up and exits with 130/143 when the benchmark is interrupted. */
export function cleanupOnSignals(): void {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    Deno.addSignalListener(signal, () => {
      signalled = true;
      console.error(`bench: ${signal}, stopping children and removing temp dirs`);
      void runCleanup().finally(() => Deno.exit(code));
    });
  }
}

/** Ends a child: `signal` first, SIGKILL if it has not exited after `graceMs`. Resolves with its exit code. */
export async function endChild(
  child: Deno.ChildProcess,
  signal: Deno.Signal = "SIGTERM",
  graceMs = 10_000,
): Promise<number> {
  try {
    child.kill(signal);
  } catch { /* already exited */ }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      resolve();
    }, graceMs);
  });
  const status = await Promise.race([child.status, killed.then(() => child.status)]);
  clearTimeout(timer);
  return status.code;
}
