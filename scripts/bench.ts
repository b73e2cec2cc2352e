/**
 * liverec's benchmark (`deno task bench`): the remux core alone (RTP packets -> fMP4 segments, per CPU second),
 * then end to end with the real service as a child process and real-time WHIP publishers in another process, at
 * 1 stream and at N, reading the service's CPU and RSS from /proc; then the same over RTMP, with one real-time
 * ffmpeg per stream pushing an OBS-like 720p30 H.264 + AAC clip, at 1 stream and at M. In between, the storage path
 * alone: how long from a segment's close until it is durable, on fs and on S3 (s3rver on loopback), at 1 stream and
 * at N. It prints one figure a line, then a JSON summary. It measures; it does not fail on a missed goal, only when a
 * run breaks or a recording or segment is missing.
 *
 *   deno task bench [--quick] [--streams 4] [--rtmp-streams 8] [--seconds 60] [--only rtmp] [--help for all flags]
 */

import { loadClip } from "./clip.ts";
import { cleanupOnSignals, interrupted, onCleanup, runCleanup } from "./bench/cleanup.ts";
import { type DurabilityBackend, runDurability, startBenchS3 } from "./bench/durability.ts";
import { type E2eResult, runEndToEnd } from "./bench/e2e.ts";
import { type BenchFlags, parseFlags, USAGE } from "./bench/flags.ts";
import { packetizeClip, runRemux } from "./bench/remux.ts";
import { recordingComplete, recordingOk } from "./bench/recordings.ts";
import { makeRtmpClip, runRtmp } from "./bench/rtmp.ts";
import {
  durabilityHeading,
  durabilityLines,
  type DurabilitySummary,
  e2eLines,
  GOAL_CPU_S_PER_MEDIA_MINUTE,
  GOAL_DURABLE_P99_MS,
  GOAL_RTMP_CPU_S_PER_MEDIA_MINUTE,
  hotspotLines,
  meetsCpuGoal,
  remuxLines,
  round,
  rtmpHeading,
  summarizeDurability,
  summarizeRemux,
} from "./bench/report.ts";
import { errorMessage } from "../src/shared/errors.ts";

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  let flags;
  try {
    flags = parseFlags(args);
  } catch (error) {
    console.error(`bench: ${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  cleanupOnSignals();
  const cores = navigator.hardwareConcurrency;
  const startedMs = performance.now();
  const summary: Record<string, unknown> = {
    deno: Deno.version.deno,
    cores,
    goalCpuSPerMediaMinutePerStream: GOAL_CPU_S_PER_MEDIA_MINUTE,
    goalRtmpCpuSPerMediaMinutePerStream: GOAL_RTMP_CPU_S_PER_MEDIA_MINUTE,
    goalDurableP99Ms: GOAL_DURABLE_P99_MS,
    flags,
  };
  const clip = await loadClip();
  let tempDir: string | undefined;
  const benchDir = async () => {
    if (tempDir !== undefined) return tempDir;
    const made = tempDir = await Deno.makeTempDir({ prefix: "liverec-bench-" });
    if (flags.keep) console.log(`bench: keeping ${made}`);
    else onCleanup(`temp dir ${made}`, () => Deno.remove(made, { recursive: true }));
    return made;
  };
  const counts = flags.streams === 1 ? [1] : [1, flags.streams];

  if (flags.remux) {
    const packetized = packetizeClip(clip, flags.remuxSeconds);
    runRemux(packetized, flags.segmentDurationS * 1000); // warm-up: JIT and allocation sizing
    const runs = Array.from({ length: flags.remuxRuns }, () => runRemux(packetized, flags.segmentDurationS * 1000));
    const remux = summarizeRemux(packetized, runs);
    summary.remux = remux;
    console.log(remuxLines(remux).join("\n"));
  }

  if (flags.durability) {
    const server = await startBenchS3();
    const results: DurabilitySummary[] = [];
    for (const backend of ["fs", "s3"] as DurabilityBackend[]) {
      for (const streams of counts) {
        console.log(
          `\nbench: durability run on ${backend} with ${streams} stream(s) x ${flags.durabilitySegments} segments ...`,
        );
        const run = await runDurability({
          backend,
          streams,
          segmentsPerStream: flags.durabilitySegments,
          segmentIntervalMs: flags.durabilityIntervalMs,
          dir: await benchDir(),
          server,
        });
        const result = summarizeDurability(run);
        if (results.length === 0) console.log(durabilityHeading(result).join("\n"));
        results.push(result);
        console.log(durabilityLines(result).join("\n"));
      }
    }
    await server.stop();
    summary.durability = results;
  }

  let failed = false;
  if (flags.e2e) {
    const dir = await benchDir();
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
        binary: flags.binary,
      });
      results.push(result);
      const note = serviceNote(flags, profilePath);
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
      meetsGoal: meetsCpuGoal(r),
    }));
  }

  if (flags.rtmp) {
    const dir = await benchDir();
    console.log(`\nbench: making the RTMP clip (x264 720p30 2.5 Mbit/s with B-frames + AAC) ...`);
    const clip = await makeRtmpClip(dir);
    console.log(rtmpHeading(clip).join("\n"));
    const results: E2eResult[] = [];
    const rtmpCounts = flags.rtmpStreams === 1 ? [1] : [1, flags.rtmpStreams];
    for (const [i, streams] of rtmpCounts.entries()) {
      console.log(`\nbench: RTMP run with ${streams} stream(s) x ${flags.seconds} s ...`);
      const profilePath = i === rtmpCounts.length - 1 ? flags.profilePath : undefined;
      const result = await runRtmp({
        streams,
        seconds: flags.seconds,
        segmentDurationS: flags.segmentDurationS,
        dir,
        clip,
        profilePath,
        binary: flags.binary,
      });
      results.push(result);
      const note = serviceNote(flags, profilePath);
      console.log(e2eLines(result, note, cores).join("\n"));
      if (profilePath !== undefined) console.log(hotspotLines(result, profilePath).join("\n"));
      const bad = result.recordings.filter((check) => !recordingComplete(check, flags.seconds));
      if (bad.length > 0) {
        failed = true;
        console.error(`bench: missing or incomplete RTMP recordings: ${JSON.stringify(bad)}`);
      }
    }
    summary.rtmpClip = clip;
    summary.rtmp = results.map((r) => ({ ...r, meetsGoal: meetsCpuGoal(r) }));
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

/** What ran as the service, for the heading of a run. */
function serviceNote(flags: BenchFlags, profilePath: string | undefined): string {
  if (profilePath !== undefined) return "service CPU-profiled (inspector on)";
  return flags.binary !== undefined ? `service = ${flags.binary} (compiled)` : "service = deno main.ts child";
}
