/**
 * A benchmark publisher process: N concurrent real-time WHIP publishers of the test clip (`publishClip`), streams
 * `bench-<first>` .. `bench-<first+N-1>`, run apart from the service so that their CPU is not counted as the service's.
 * It reports progress as JSON lines on stdout (`connected`, `done`, `error`, then `finished`); it measures nothing.
 *
 *   deno run -A scripts/bench/publishers.ts --url http://127.0.0.1:7777 [--first 0] --streams 4 --seconds 60
 */

import process from "node:process";
import { loadClip } from "../clip.ts";
import { publishClip } from "../publish.ts";
import { errorMessage } from "../../src/shared/errors.ts";

/** One line of the publisher process's stdout. */
export type PublisherEvent =
  /** `cpuS`: this process's user+system CPU so far, in seconds. */
  | { event: "connected"; stream: string; cpuS: number }
  | { event: "done"; stream: string; videoFrames: number; audioFrames: number; keyframeRequests: number }
  | { event: "error"; stream: string; message: string }
  | { event: "finished"; failed: number; cpuS: number };

/** The WHIP stream name of publisher `index`. */
export function benchStreamName(index: number): string {
  return `bench-${index}`;
}

function cpuS(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

function emit(event: PublisherEvent): void {
  console.log(JSON.stringify(event));
}

if (import.meta.main) {
  const args = Deno.args;
  const flag = (name: string) => {
    const at = args.indexOf(name);
    return at < 0 ? undefined : args[at + 1];
  };
  const url = flag("--url");
  const streams = Number(flag("--streams") ?? "1");
  const seconds = Number(flag("--seconds") ?? "60");
  const first = Number(flag("--first") ?? "0");
  if (url === undefined || !Number.isInteger(streams) || streams < 1 || !(seconds > 0) || !Number.isInteger(first)) {
    console.error("usage: publishers.ts --url <service url> [--first I] [--streams N] [--seconds S]");
    Deno.exit(2);
  }
  const clip = await loadClip();
  const results = await Promise.allSettled(
    Array.from({ length: streams }, async (_, i) => {
      const stream = benchStreamName(first + i);
      try {
        const result = await publishClip({
          url: `${url}/whip/${stream}`,
          seconds,
          clip,
          onConnected: () => emit({ event: "connected", stream, cpuS: cpuS() }),
        });
        const { videoFrames, audioFrames, keyframeRequests } = result;
        emit({ event: "done", stream, videoFrames, audioFrames, keyframeRequests });
      } catch (error) {
        emit({ event: "error", stream, message: errorMessage(error) });
        throw error;
      }
    }),
  );
  const failed = results.filter((r) => r.status === "rejected").length;
  emit({ event: "finished", failed, cpuS: cpuS() });
  // werift may keep timers and sockets alive after close(); the work is done.
  Deno.exit(failed === 0 ? 0 : 1);
}
