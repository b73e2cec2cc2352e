/**
 * liverec's benchmark (`deno task bench`): the remux core alone (RTP packets -> fMP4 segments, per CPU second),
 * then end to end with the real service as a child process and real-time WHIP publishers in another process, at
 * 1 stream and at N, reading the service's CPU and RSS from /proc. It prints one figure a line, then a JSON
 * summary. It measures; it does not fail on a missed goal, only when a run breaks or a recording is missing.
 *
 *   deno task bench [--quick] [--streams 4] [--seconds 60] [--profile] [--help for all flags]
 */

import { loadClip } from "./clip.ts";
import { cleanupOnSignals, interrupted, onCleanup, runCleanup } from "./bench/cleanup.ts";
import { type E2eResult, runEndToEnd } from "./bench/e2e.ts";
import { parseFlags, USAGE } from "./bench/flags.ts";
import { packetizeClip, runRemux } from "./bench/remux.ts";
import { recordingOk } from "./bench/recordings.ts";
import {
  e2eLines,
  GOAL_CPU_S_PER_MEDIA_MINUTE,
  hotspotLines,
  remuxLines,
  round,
  summarizeRemux,
} from "./bench/report.ts";

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let flags;
  try {
    flags = parseFlags(args);
  } catch (error) {
    console.error(`bench: ${error instanceof Error ? error.message : error}\n\n${USAGE}`);
    return 2;
  }
  cleanupOnSignals();
  const cores = navigator.hardwareConcurrency;
  const startedMs = performance.now();
  const summary: Record<string, unknown> = {
    deno: Deno.version.deno,
    cores,
    goalCpuSPerMediaMinutePerStream: GOAL_CPU_S_PER_MEDIA_MINUTE,
    flags,
  };
  const clip = await loadClip();

  if (flags.remux) {
    const packetized = packetizeClip(clip, flags.remuxSeconds);
    runRemux(packetized, flags.segmentDurationS * 1000); // warm-up: JIT and allocation sizing
    const runs = Array.from({ length: flags.remuxRuns }, () => runRemux(packetized, flags.segmentDurationS * 1000));
    const remux = summarizeRemux(packetized, runs);
    summary.remux = remux;
    console.log(remuxLines(remux).join("\n"));
  }

  let failed = false;
  if (flags.e2e) {
    const dir = await Deno.makeTempDir({ prefix: "liverec-bench-" });
    if (flags.keep) console.log(`bench: keeping ${dir}`);
    else onCleanup(`temp dir ${dir}`, () => Deno.remove(dir, { recursive: true }));
    const counts = flags.streams === 1 ? [1] : [1, flags.streams];
    const results: E2eResult[] = [];
    for (const [i, streams] of counts.entries()) {
      const last = i === counts.length - 1;
      const profilePath = last ? flags.profilePath : undefined;
      console.log(`\nbench: end-to-end run with ${streams} stream(s) x ${flags.seconds} s ...`);
      const result = await runEndToEnd({
        streams,
        seconds: flags.seconds,
        segmentDurationS: flags.segmentDurationS,
        dir,
        profilePath,
      });
      results.push(result);
      const note = profilePath !== undefined ? "service CPU-profiled (inspector on)" : "service = deno main.ts child";
      console.log(e2eLines(result, note, cores).join("\n"));
      if (profilePath !== undefined) console.log(hotspotLines(result, profilePath).join("\n"));
      const bad = result.recordings.filter((check) => !recordingOk(check));
      if (bad.length > 0) {
        failed = true;
        console.error(`bench: missing or incomplete recordings: ${JSON.stringify(bad)}`);
      }
    }
    summary.e2e = results.map((r) => ({
      ...r,
      meetsGoal: r.cpuSPerMediaMinutePerStream <= GOAL_CPU_S_PER_MEDIA_MINUTE,
    }));
  }

  summary.benchWallS = round((performance.now() - startedMs) / 1000, 1);
  // Three decimals are plenty for any figure here.
  const json = JSON.stringify(summary, (_, v) => typeof v === "number" ? round(v, 3) : v, 2);
  console.log(`\n== summary (JSON)\n${json}`);
  if (flags.jsonPath !== undefined) await Deno.writeTextFile(flags.jsonPath, json + "\n");
  return failed ? 1 : 0;
}

if (import.meta.main) {
  let code = 1;
  try {
    code = await main(Deno.args);
  } catch (error) {
    if (!interrupted()) {
      console.error(`bench: failed: ${error instanceof Error ? error.stack ?? error.message : error}`);
    }
  } finally {
    await runCleanup();
  }
  // Stray werift timers or sockets must not keep the benchmark alive.
  Deno.exit(code);
}
