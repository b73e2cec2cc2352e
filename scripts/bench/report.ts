/**
 * Turns benchmark measurements into the printed lines (one figure a line, labels aligned) and the JSON summary
 * values. Pure: it computes and formats, it neither measures nor prints.
 */

import type { E2eResult } from "./e2e.ts";
import type { PacketizedClip, RemuxRun } from "./remux.ts";

/** The product goal for the service: CPU seconds per minute of media per stream. */
export const GOAL_CPU_S_PER_MEDIA_MINUTE = 1.0;

/** Throughput of one remux run, per CPU second. */
export interface RemuxFigures {
  cpuMs: number;
  wallMs: number;
  packetsPerCpuS: number;
  mediaSPerCpuS: number;
  mbitPerCpuS: number;
}

export interface RemuxSummary {
  mediaSeconds: number;
  packets: number;
  inputMbitPerMediaS: number;
  segments: number;
  runs: number;
  best: RemuxFigures;
  median: RemuxFigures;
}

/** Best (least CPU) and median run of the timed runs. */
export function summarizeRemux(clip: PacketizedClip, runs: RemuxRun[]): RemuxSummary {
  const sorted = [...runs].sort((a, b) => a.cpuMs - b.cpuMs);
  const figures = (run: RemuxRun): RemuxFigures => {
    const cpuS = Math.max(run.cpuMs, 0.001) / 1000;
    return {
      cpuMs: round(run.cpuMs, 1),
      wallMs: round(run.wallMs, 1),
      packetsPerCpuS: Math.round(clip.packets.length / cpuS),
      mediaSPerCpuS: round(clip.mediaSeconds / cpuS, 1),
      mbitPerCpuS: round(clip.payloadBytes * 8 / 1e6 / cpuS, 1),
    };
  };
  return {
    mediaSeconds: clip.mediaSeconds,
    packets: clip.packets.length,
    inputMbitPerMediaS: round(clip.payloadBytes * 8 / 1e6 / clip.mediaSeconds, 2),
    segments: runs[0]?.segments ?? 0,
    runs: runs.length,
    best: figures(sorted[0]!),
    median: figures(sorted[Math.floor((sorted.length - 1) / 2)]!),
  };
}

/** The printed lines of the remux benchmark. */
export function remuxLines(s: RemuxSummary): string[] {
  const pair = (label: string, best: string, median: string) =>
    line(`remux ${label}`, `best ${best.padStart(12)}   median ${median.padStart(12)}`);
  return [
    `== remux core: RecordingPipeline alone (reorder, depacketize, segment, fMP4), start() to flush()`,
    `   ${s.mediaSeconds} s of the looped clip = ${s.packets} RTP packets at ${s.inputMbitPerMediaS} Mbit/s payload,` +
    ` ${s.segments} segments; ${s.runs} timed runs after 1 warm-up; CPU = user+system of this process`,
    pair("RTP packets per CPU s", fmtInt(s.best.packetsPerCpuS), fmtInt(s.median.packetsPerCpuS)),
    pair("media s per CPU s", `${s.best.mediaSPerCpuS}x`, `${s.median.mediaSPerCpuS}x`),
    pair("payload Mbit per CPU s", `${s.best.mbitPerCpuS}`, `${s.median.mbitPerCpuS}`),
    pair("CPU ms per run", `${s.best.cpuMs}`, `${s.median.cpuMs}`),
    pair("wall ms per run", `${s.best.wallMs}`, `${s.median.wallMs}`),
  ];
}

/** The printed lines of one end-to-end run. */
export function e2eLines(r: E2eResult, servicePidNote: string, cores: number): string[] {
  const tag = `e2e[${r.streams}]`;
  const perStream = round(r.cpuSPerMediaMinutePerStream, 3);
  const verdict = perStream <= GOAL_CPU_S_PER_MEDIA_MINUTE ? "meets goal" : "ABOVE goal";
  const okCount = r.recordings.filter((c) => c.manifests > 0 && c.finalized).length;
  const video = r.recordings.reduce((n, c) => n + c.videoSegments, 0);
  const audio = r.recordings.reduce((n, c) => n + c.audioSegments, 0);
  const perStreamSegments = r.recordings.map((c) => `${c.videoSegments}+${c.audioSegments}`).join(", ");
  return [
    `== end to end: ${r.streams} stream(s) x ${r.mediaSecondsPerStream} s over WHIP; ${servicePidNote}`,
    `   publishers run in a separate process on the same ${cores} cores and compete with the service for CPU`,
    line(`${tag} idle RSS before publishing`, fmtMb(r.idleRssBytes)),
    line(
      `${tag} CPU-s per media-minute/stream`,
      `${perStream}   (goal <= ${GOAL_CPU_S_PER_MEDIA_MINUTE.toFixed(1)}: ${verdict})`,
    ),
    line(
      `${tag} service CPU`,
      `${round(r.serviceCpuS, 2)} s over a ${round(r.windowS, 1)} s window` +
        ` (${round(r.serviceCoreLoadPct, 1)}% of one core)`,
    ),
    line(
      `${tag} service CPU by thread`,
      `${threadSummary(r.serviceCpuSByThread)}; kernel (stime) ${round(r.serviceSystemCpuS, 2)} s of the total`,
    ),
    line(
      `${tag} peak RSS (sampled)`,
      `${fmtMb(r.peakRssBytes)}   (at the end ${fmtMb(r.endRssBytes)}; VmHWM over its life ${fmtMb(r.hwmRssBytes)})`,
    ),
    line(
      `${tag} publisher process CPU`,
      `${round(r.publisherCpuS, 2)} s (${round(r.publisherCoreLoadPct, 1)}% of one core; not counted above)`,
    ),
    line(`${tag} machine busy`, `${round(r.machineBusyPct, 1)}% of ${cores} cores (everything running on the machine)`),
    line(
      `${tag} recordings`,
      `${okCount}/${r.streams} finalized manifests; ${video} video + ${audio} audio segments` +
        ` (per stream: ${perStreamSegments})`,
    ),
    line(
      `${tag} keyframe requests (PLI)`,
      `${r.keyframeRequests}; publishers connected within ${round(r.connectSpreadS, 2)} s`,
    ),
  ];
}

/** Hotspot lines of a profiled run. */
export function hotspotLines(r: E2eResult, profilePath: string): string[] {
  if (r.hotspots === undefined) return [];
  return [
    `== service CPU profile of e2e[${r.streams}] (self time, share of busy samples; inspector overhead included)`,
    `   written to ${profilePath} (open in Chrome DevTools > Performance)`,
    ...r.hotspots.modules.map((h) => line(`module ${h.name}`, `${String(h.sharePct).padStart(5)}%  ${h.selfMs} ms`)),
    ...r.hotspots.functions.map((h) =>
      `  ${String(h.sharePct).padStart(5)}%  ${String(h.selfMs).padStart(6)} ms  ${h.name}`
    ),
  ];
}

/** The busiest thread names with their CPU seconds, e.g. `deno 1.2 s, tokio-runtime-w 0.3 s`. */
function threadSummary(byName: Record<string, number>): string {
  const busy = Object.entries(byName).filter(([, s]) => s >= 0.005).sort((a, b) => b[1] - a[1]);
  return busy.slice(0, 5).map(([name, s]) => `${name} ${round(s, 2)} s`).join(", ") || "none";
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function line(label: string, value: string): string {
  return `${label.padEnd(40)} ${value}`;
}

function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

function fmtMb(bytes: number): string {
  return `${round(bytes / 1024 / 1024, 1)} MiB`;
}
