/**
 * Turns benchmark measurements into the printed lines (one figure a line, labels aligned) and the JSON summary
 * values. Pure: it computes and formats, it neither measures nor prints.
 */

import type { DurabilityRun, DurabilitySetup } from "./durability.ts";
import type { E2eResult } from "./e2e.ts";
import type { PacketizedClip, RemuxRun } from "./remux.ts";
import type { RtmpClip } from "./rtmp.ts";

/** The product goal for the service: CPU seconds per minute of media per stream (WHIP: SRTP, RTP, depacketizing). */
export const GOAL_CPU_S_PER_MEDIA_MINUTE = 1.0;
/** The same from `GOAL_MANY_STREAMS` streams on, where the fixed costs are shared. */
export const GOAL_MANY_STREAMS_CPU_S_PER_MEDIA_MINUTE = 0.7;
export const GOAL_MANY_STREAMS = 24;
/** The goal for RTMP ingest, which has no SRTP, no RTP and whole frames: CPU seconds per media minute per stream. */
export const GOAL_RTMP_CPU_S_PER_MEDIA_MINUTE = 0.3;

/** The CPU goal of a run's protocol. */
export function cpuGoal(r: E2eResult): number {
  if (r.protocol === "rtmp") return GOAL_RTMP_CPU_S_PER_MEDIA_MINUTE;
  return r.streams >= GOAL_MANY_STREAMS ? GOAL_MANY_STREAMS_CPU_S_PER_MEDIA_MINUTE : GOAL_CPU_S_PER_MEDIA_MINUTE;
}

/**
 * The figure a run's goal is set on: issue 9 sets the 1-stream WHIP goal on the steady state (without the connection
 * set-up and the finalizing, which a single stream does not share with others); every other goal on the whole window.
 */
export function goalFigure(r: E2eResult): number {
  return (goalIsSteady(r) ? r.steadyCpuSPerMediaMinutePerStream : undefined) ?? r.cpuSPerMediaMinutePerStream;
}

function goalIsSteady(r: E2eResult): boolean {
  return r.protocol === "whip" && r.streams === 1 && r.steadyCpuSPerMediaMinutePerStream !== undefined;
}

export function meetsCpuGoal(r: E2eResult): boolean {
  return goalFigure(r) <= cpuGoal(r);
}
/** The product goal for storage: from a segment's close to durable (fs, and S3 on loopback), at p99, in ms. */
export const GOAL_DURABLE_P99_MS = 1000;

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

/** The heading of the RTMP runs: the clip the publishers send. */
export function rtmpHeading(clip: RtmpClip): string[] {
  return [
    `== end to end over RTMP: ffmpeg -re -stream_loop -1 -i CLIP -c copy -f flv, one process per stream`,
    `   CLIP: ${clip.width}x${clip.height} ${round(clip.fps, 2)} fps ${clip.video} (B-frames: ${clip.bFrames})` +
    ` ${round(clip.videoKbps, 0)} kbit/s + ${clip.audio} ${round(clip.audioKbps, 0)} kbit/s,` +
    ` ${round(clip.durationS, 1)} s looped; x264 veryfast, 2 s GOP, VBV-capped (OBS-like)`,
  ];
}

/** The printed lines of one end-to-end run. */
export function e2eLines(r: E2eResult, servicePidNote: string, cores: number): string[] {
  const rtmp = r.protocol === "rtmp";
  const tag = `${rtmp ? "rtmp" : "e2e"}[${r.streams}]`;
  const goal = cpuGoal(r);
  const verdict = (figure: number) => `(goal <= ${goal.toFixed(1)}: ${figure <= goal ? "meets goal" : "ABOVE goal"})`;
  const steady = r.steadyCpuSPerMediaMinutePerStream;
  const steadyIsGoal = goalIsSteady(r);
  const okCount = r.recordings.filter((c) => c.manifests > 0 && c.finalized).length;
  const video = r.recordings.reduce((n, c) => n + c.videoSegments, 0);
  const audio = r.recordings.reduce((n, c) => n + c.audioSegments, 0);
  const perStreamSegments = r.recordings.map((c) => `${c.videoSegments}+${c.audioSegments}`).join(", ");
  const durations = r.recordings.map((c) => c.durationS);
  const recordedVideo = r.recordings.reduce((n, c) => n + c.videoFrames, 0);
  const recordedAudio = r.recordings.reduce((n, c) => n + c.audioFrames, 0);
  const publishers = rtmp ? "ffmpeg publishers run as separate processes" : "publishers run in separate processes";
  return [
    `== end to end: ${r.streams} stream(s) x ${r.mediaSecondsPerStream} s over ${rtmp ? "RTMP" : "WHIP"};` +
    ` ${servicePidNote}`,
    `   ${publishers} on the same ${cores} cores and compete with the service for CPU`,
    line(`${tag} idle RSS before publishing`, fmtMb(r.idleRssBytes)),
    line(
      `${tag} CPU-s per media-minute/stream`,
      `${round(r.cpuSPerMediaMinutePerStream, 3)}   ${steadyIsGoal ? "(whole window)" : verdict(goalFigure(r))}`,
    ),
    line(
      `${tag} ... in the steady state`,
      steady === undefined
        ? "- (a run too short for one)"
        : `${round(steady, 3)}   ${steadyIsGoal ? verdict(steady) : "(10 s after connecting to 3 s before the end)"}`,
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
      `${tag} wake-ups a second by thread`,
      `${wakeupSummary(r.serviceWakeupsPerSByThread)}   (sleeps ended: epoll, futex, or disk waits in an fdatasync)`,
    ),
    line(
      `${tag} peak RSS (sampled)`,
      `${fmtMb(r.peakRssBytes)}   (at the end ${fmtMb(r.endRssBytes)}; VmHWM over its life ${fmtMb(r.hwmRssBytes)})`,
    ),
    line(
      `${tag} publisher process CPU`,
      `${round(r.publisherCpuS, 2)} s (${round(r.publisherCoreLoadPct, 1)}% of one core; not counted above` +
        `${rtmp ? "; whole ffmpeg lifetimes" : ""}); service/publishers ` +
        `${r.publisherCpuS > 0 ? round(r.serviceCpuS / r.publisherCpuS, 2) : "n/a"}x`,
    ),
    line(`${tag} machine busy`, `${round(r.machineBusyPct, 1)}% of ${cores} cores (everything running on the machine)`),
    line(
      `${tag} recordings`,
      `${okCount}/${r.streams} finalized manifests; ${video} video + ${audio} audio segments` +
        ` (per stream: ${perStreamSegments})`,
    ),
    line(
      `${tag} recorded media per stream`,
      `min ${round(Math.min(...durations), 2)} s, max ${round(Math.max(...durations), 2)} s` +
        ` of ${r.mediaSecondsPerStream} s sent`,
    ),
    ...(r.sentFrames === undefined ? [] : [
      line(
        `${tag} frames recorded of sent`,
        `video ${recordedVideo} of ${r.sentFrames.video}, audio ${recordedAudio} of ${r.sentFrames.audio}` +
          ` (${Math.max(0, r.sentFrames.video - recordedVideo) + Math.max(0, r.sentFrames.audio - recordedAudio)}` +
          ` missing)`,
      ),
    ]),
    ...(r.serviceLoss === undefined ? [] : [
      line(
        `${tag} lost in the service's count`,
        `${r.serviceLoss.lostPackets} RTP packets never received, ${r.serviceLoss.droppedFrames} frames dropped for them`,
      ),
    ]),
    rtmp ? line(`${tag} streams published`, `all within ${round(r.connectSpreadS, 2)} s of the first`) : line(
      `${tag} keyframe requests (PLI)`,
      `${r.keyframeRequests}; publishers connected within ${round(r.connectSpreadS, 2)} s`,
    ),
  ];
}

/** Latency percentiles of a set of samples, in ms; p99 is nearest rank, so with fewer than 100 samples the max. */
export interface LatencyStats {
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface DurabilitySummary extends DurabilitySetup {
  /** Fragment appends, fdatasync included (on s3: into the spool). */
  append: LatencyStats;
  close: LatencyStats;
  /** From `close(key)` to durable: the figure the goal is about. */
  durable: LatencyStats;
  /** s3 only: a segment's PUT and verifying HEAD, without the time it waited in the queue. */
  upload: LatencyStats | undefined;
  /** The index and manifest replaced after each close. */
  replace: LatencyStats;
  /** s3: failed passes of the upload queue (each retried after a back-off) and the last error. */
  uploadFailedPasses: number;
  lastUploadError: string | undefined;
  maxLagMs: number;
  wallS: number;
  meetsGoal: boolean;
}

/** Percentiles of each kind of sample of a durability run. */
export function summarizeDurability(run: DurabilityRun): DurabilitySummary {
  const durable = latency(run.durableMs);
  return {
    ...run.setup,
    append: latency(run.appendMs),
    close: latency(run.closeMs),
    durable,
    upload: run.setup.backend === "s3" ? latency(run.uploadMs) : undefined,
    replace: latency(run.replaceMs),
    uploadFailedPasses: run.uploadFailedPasses,
    lastUploadError: run.lastUploadError,
    maxLagMs: run.maxLagMs,
    wallS: run.wallS,
    meetsGoal: durable.p99Ms <= GOAL_DURABLE_P99_MS,
  };
}

/** Nearest-rank percentiles of `samples` (ms). */
export function latency(samples: readonly number[]): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p / 100 * sorted.length) - 1)] ?? 0;
  return { n: sorted.length, p50Ms: rank(50), p99Ms: rank(99), maxMs: sorted[sorted.length - 1] ?? 0 };
}

/** The heading of the durability runs, from the first of them. */
export function durabilityHeading(s: DurabilitySummary): string[] {
  const speedup = round(s.fragmentsPerSegment * 1000 / s.segmentIntervalMs, 1); // a fragment is 1 s of media
  return [
    `== durability: segment close -> durable, through RecordingFiles / LocalObjects / UploadQueue / OpenDAL`,
    `   per stream: one ${round(s.segmentBytes / 1e6, 2)} MB video segment (${s.fragmentsPerSegment} fragments` +
    ` of ${
      round(s.fragmentBytes / 1000, 1)
    } kB) every ${s.segmentIntervalMs} ms (${speedup}x real time), ${s.segmentsPerStream} segments,` +
    ` index + manifest replaced after each close; no audio track`,
    `   local files on ${s.localFsType}; s3 = s3rver (Node) on loopback; p99 is nearest rank (with < 100 samples, the max)`,
  ];
}

/** The printed lines of one durability run. */
export function durabilityLines(s: DurabilitySummary): string[] {
  const tag = `${s.backend}[${s.streams}]`;
  const verdict = s.meetsGoal ? "meets goal" : "ABOVE goal";
  const lines = [
    line(`${tag} ${s.backend === "fs" ? "fragment" : "spool"} append + fdatasync`, fmtLatency(s.append)),
    line(`${tag} close()`, fmtLatency(s.close)),
    line(
      `${tag} close -> durable`,
      `${fmtLatency(s.durable)}   (goal p99 <= ${GOAL_DURABLE_P99_MS} ms: ${verdict})`,
    ),
  ];
  if (s.upload !== undefined) {
    lines.push(
      line(`${tag}   of which PUT + verifying HEAD`, fmtLatency(s.upload)),
      line(
        `${tag} upload passes failed, retried`,
        `${s.uploadFailedPasses}${s.lastUploadError === undefined ? "" : `; last: ${s.lastUploadError}`}`,
      ),
    );
  }
  lines.push(
    line(`${tag} index + manifest replace`, fmtLatency(s.replace)),
    line(
      `${tag} writers behind schedule`,
      `max ${round(s.maxLagMs, 1)} ms; run took ${round(s.wallS, 1)} s`,
    ),
  );
  return lines;
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

function wakeupSummary(byName: Record<string, number>): string {
  const busy = Object.entries(byName).filter(([, perS]) => perS >= 0.05).sort((a, b) => b[1] - a[1]);
  return busy.slice(0, 5).map(([name, perS]) => `${name} ${round(perS, 1)}`).join(", ") || "none";
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function line(label: string, value: string): string {
  return `${label.padEnd(40)} ${value}`;
}

function fmtLatency(s: LatencyStats): string {
  const ms = (v: number) => `${v < 10 ? round(v, 2) : round(v, 1)} ms`.padStart(10);
  return `p50 ${ms(s.p50Ms)}   p99 ${ms(s.p99Ms)}   max ${ms(s.maxMs)}   (n=${s.n})`;
}

function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

function fmtMb(bytes: number): string {
  return `${round(bytes / 1024 / 1024, 1)} MiB`;
}
