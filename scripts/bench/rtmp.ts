/**
 * The RTMP end-to-end run: a fresh service child that records `live/bench*` (splice window 0, so that each
 * publisher's unpublish finalizes its recording), idle RSS, then N ffmpeg processes pushing an OBS-like clip in real
 * time (`-re -stream_loop -1 -c copy -f flv`), the service's CPU and RSS read from /proc from just before the
 * publishers start until every recording is finalized, and a check of what landed in storage. The clip is made once
 * per benchmark by `makeRtmpClip`. As e2e.ts, it does not keep the publishers off the service's cores.
 */

import { CLIP_PATH } from "../clip.ts";
import { endChild, onCleanup } from "./cleanup.ts";
import { waitFinalized } from "./e2e.ts";
import type { E2eResult } from "./e2e.ts";
import { perSecond, sampleMachine, sampleProcess, sampleThreads, threadDeltaByName } from "./proc_stats.ts";
import { checkRecording } from "./recordings.ts";
import { startBenchService } from "./service.ts";
import { SteadyWindow } from "./steady.ts";
import { hotspots, startProfiling } from "./profile.ts";

/** How the clip is encoded: OBS-like x264 (veryfast, High, B-frames) at 2.5 Mbit/s 720p30, keyframes every 2 s. */
export const RTMP_CLIP_SETTINGS = {
  width: 1280,
  height: 720,
  fps: 30,
  videoKbps: 2500,
  keyframeIntervalFrames: 60,
  bFrames: 2,
  audioKbps: 128,
  /** Five loops of the 4 s test clip (the WHIP runs' pictures); the publishers loop it again. */
  durationS: 20,
} as const;
/** How the freshly started service may settle before its idle RSS is read. */
const IDLE_SETTLE_MS = 2000;
const RSS_SAMPLE_INTERVAL_MS = 250;
/** Slack beyond the media duration for connecting and closing. */
const PUBLISH_SLACK_MS = 60_000;
const STDERR_TAIL_CHARS = 4000;

/** The clip the RTMP publishers send, as ffprobe reads it back. */
export interface RtmpClip {
  path: string;
  video: string;
  audio: string;
  width: number;
  height: number;
  fps: number;
  /** Frames of B-frame reordering (ffprobe's has_b_frames). */
  bFrames: number;
  videoKbps: number;
  audioKbps: number;
  durationS: number;
}

export interface RtmpOptions {
  streams: number;
  seconds: number;
  segmentDurationS: number;
  /** Parent dir for this run's config and storage. */
  dir: string;
  clip: RtmpClip;
  /** Write a CPU profile of the service to this path (.cpuprofile) and list hotspots. */
  profilePath?: string | undefined;
  /** A compiled liverec to measure instead of `deno run main.ts`. */
  binary?: string | undefined;
}

/** The RTMP stream of publisher `index`: `live/bench<index>`. */
export function rtmpStreamName(index: number): string {
  return `live/bench${index}`;
}

/**
 * Encodes the test clip's pictures and sound as a streaming encoder such as OBS sends them: x264 veryfast, High
 * profile, 2 B-frames, keyframes every 2 s, 2.5 Mbit/s capped by a VBV of 2.5 Mbit/s rate and buffer (as CBR
 * streaming settings do), and AAC-LC 128 kbit/s stereo at 48 kHz; into `dir`.
 */
export async function makeRtmpClip(dir: string): Promise<RtmpClip> {
  const s = RTMP_CLIP_SETTINGS;
  const path = `${dir}/rtmp_clip_720p30_h264_aac.mp4`;
  const loops = Math.ceil(s.durationS / 4) - 1;
  // The clip's own sound is a short beep a second, near silence that AAC codes in a fifth of its bitrate; pink noise
  // under it makes the encoder spend the 128 kbit/s that speech or music would.
  const filters = `[0:v]scale=${s.width}:${s.height},fps=${s.fps}[v];` +
    `[0:a][1:a]amix=inputs=2:duration=first:normalize=0[a]`;
  const made = await output("ffmpeg", [
    ...["-nostdin", "-v", "error", "-y", "-stream_loop", String(loops), "-i", CLIP_PATH.pathname],
    ...["-f", "lavfi", "-i", "anoisesrc=color=pink:sample_rate=48000:amplitude=0.1", "-filter_complex", filters],
    ...["-map", "[v]", "-map", "[a]", "-t", `${s.durationS}`, "-c:v", "libx264", "-preset", "veryfast"],
    ...["-profile:v", "high", "-pix_fmt", "yuv420p", "-b:v", `${s.videoKbps}k`, "-maxrate", `${s.videoKbps}k`],
    ...["-bufsize", `${s.videoKbps}k`, "-g", `${s.keyframeIntervalFrames}`, "-bf", `${s.bFrames}`, "-c:a", "aac"],
    ...["-b:a", `${s.audioKbps}k`, "-ar", "48000", "-ac", "2", "-movflags", "+faststart", path],
  ]);
  if (made.code !== 0) throw new Error(`ffmpeg could not make the RTMP clip: ${made.stderr}`);
  const entries =
    "stream=codec_type,codec_name,profile,width,height,avg_frame_rate,bit_rate,has_b_frames:format=duration";
  const probed = await output("ffprobe", ["-v", "error", "-show_entries", entries, "-of", "json", path]);
  if (probed.code !== 0) throw new Error(`ffprobe ${path} failed: ${probed.stderr}`);
  const { streams, format } = JSON.parse(probed.stdout) as {
    streams: {
      codec_type: string;
      codec_name: string;
      profile?: string;
      width?: number;
      height?: number;
      avg_frame_rate?: string;
      bit_rate?: string;
      has_b_frames?: number;
    }[];
    format: { duration: string };
  };
  const video = streams.find((st) => st.codec_type === "video");
  const audio = streams.find((st) => st.codec_type === "audio");
  if (video === undefined || audio === undefined) throw new Error(`${path} lacks video or audio`);
  const [num, den] = (video.avg_frame_rate ?? "0/1").split("/").map(Number);
  return {
    path,
    video: `${video.codec_name} ${video.profile ?? ""}`.trim(),
    audio: `${audio.codec_name} ${audio.profile ?? ""}`.trim(),
    width: video.width ?? 0,
    height: video.height ?? 0,
    fps: num! / (den || 1),
    bFrames: video.has_b_frames ?? 0,
    videoKbps: Number(video.bit_rate) / 1000,
    audioKbps: Number(audio.bit_rate) / 1000,
    durationS: Number(format.duration),
  };
}

/** Runs the service and N ffmpeg publishers, measures, checks storage, stops everything it started. */
export async function runRtmp(opts: RtmpOptions): Promise<E2eResult> {
  const dir = await Deno.makeTempDir({ dir: opts.dir, prefix: `rtmp${opts.streams}-` });
  const names = Array.from({ length: opts.streams }, (_, i) => rtmpStreamName(i));
  const publishedAtMs: number[] = [];
  let steady: SteadyWindow | undefined;
  const service = await startBenchService({
    dir,
    autoStreams: [],
    segmentDurationS: opts.segmentDurationS,
    inspect: opts.profilePath !== undefined,
    binary: opts.binary,
    extraToml: [
      `[[recorder.rules]]`,
      `match = "live/bench*"`,
      `segment_duration = ${opts.segmentDurationS}`,
      // RTMP cannot tell an end from a drop: without this, each recording would wait out the splice window.
      `splice_window = 0`,
      ``,
    ].join("\n"),
    onLogLine: (line) => {
      if (!/ publish started stream=live\/bench\d+ protocol=rtmp /.test(line)) return;
      publishedAtMs.push(performance.now());
      if (publishedAtMs.length === opts.streams) steady?.open(publishedAtMs[0]! + opts.seconds * 1000);
    },
  });
  try {
    if (service.rtmpUrl === undefined) throw new Error(`the service listens for no RTMP:\n${service.logTail()}`);
    await delay(IDLE_SETTLE_MS);
    const idle = await sampleProcess(service.pid);
    steady = new SteadyWindow(service.pid, opts.streams);
    const [start, machineStart, threadsStart] = await Promise.all([
      sampleProcess(service.pid),
      sampleMachine(),
      sampleThreads(service.pid),
    ]);
    const profiling = opts.profilePath === undefined || service.inspectorUrl === undefined
      ? undefined
      : await startProfiling(service.inspectorUrl);
    let peakRss = start.rssBytes;
    const sampler = setInterval(() => {
      sampleProcess(service.pid).then((s) => (peakRss = Math.max(peakRss, s.rssBytes)), () => {});
    }, RSS_SAMPLE_INTERVAL_MS);
    let publisherCpuS: number;
    try {
      const urls = names.map((name) => `${service.rtmpUrl}/${name}`);
      publisherCpuS = await runPublishers(opts.clip.path, opts.seconds, urls);
      if (publishedAtMs.length !== opts.streams) {
        throw new Error(
          `${publishedAtMs.length} of ${opts.streams} RTMP streams were published:\n${service.logTail()}`,
        );
      }
      await waitFinalized(service.url, names);
    } finally {
      clearInterval(sampler);
    }
    const [end, threadsEnd, machineEnd] = await Promise.all([
      sampleProcess(service.pid),
      sampleThreads(service.pid),
      sampleMachine(),
    ]);
    const profile = await profiling?.stop();
    if (profile !== undefined && opts.profilePath !== undefined) {
      await Deno.writeTextFile(opts.profilePath, JSON.stringify(profile));
    }
    const code = await service.stop();
    if (code !== 0) console.error(`bench: service exited with ${code}:\n${service.logTail()}`);
    const recordings = await Promise.all(names.map((name) => checkRecording(service.root, name)));

    const serviceCpuS = end.cpuS - start.cpuS;
    const windowS = (end.atMs - start.atMs) / 1000;
    const machineTotalS = machineEnd.totalS - machineStart.totalS;
    return {
      protocol: "rtmp",
      streams: opts.streams,
      mediaSecondsPerStream: opts.seconds,
      windowS,
      connectSpreadS: (Math.max(...publishedAtMs) - Math.min(...publishedAtMs)) / 1000,
      serviceCpuS,
      serviceSystemCpuS: end.systemCpuS - start.systemCpuS,
      serviceCpuSByThread: threadDeltaByName(threadsStart, threadsEnd, "cpuS"),
      serviceWakeupsPerSByThread: perSecond(threadDeltaByName(threadsStart, threadsEnd, "wakeups"), windowS),
      cpuSPerMediaMinutePerStream: serviceCpuS / (opts.streams * opts.seconds / 60),
      steadyCpuSPerMediaMinutePerStream: await steady.cpuSPerMediaMinutePerStream(),
      serviceCoreLoadPct: serviceCpuS / windowS * 100,
      idleRssBytes: idle.rssBytes,
      peakRssBytes: Math.max(peakRss, end.rssBytes),
      endRssBytes: end.rssBytes,
      hwmRssBytes: end.peakRssBytes,
      publisherCpuS,
      publisherCoreLoadPct: publisherCpuS / windowS * 100,
      machineBusyPct: machineTotalS > 0 ? (machineEnd.busyS - machineStart.busyS) / machineTotalS * 100 : 0,
      keyframeRequests: 0,
      recordings,
      hotspots: profile === undefined ? undefined : hotspots(profile, 12),
    };
  } finally {
    await service.stop();
  }
}

/**
 * Pushes `seconds` of the looped clip to each URL, one ffmpeg each, all children of one bash that waits for them and
 * prints their CPU time (`times`: the user and system time of the children it waited for, exact, startup included).
 * Resolves with that CPU time in seconds; fails when any ffmpeg fails.
 */
async function runPublishers(clip: string, seconds: number, urls: readonly string[]): Promise<number> {
  const script = [
    `clip=$1; seconds=$2; shift 2; pids=()`,
    `for url in "$@"; do`,
    `  ffmpeg -nostdin -hide_banner -v error -re -stream_loop -1 -i "$clip" -t "$seconds" -c copy -f flv "$url" &`,
    `  pids+=($!); echo "pid $!"`,
    `done`,
    `failed=0`,
    `for pid in "\${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done`,
    `times`,
    `exit $failed`,
  ].join("\n");
  const child = new Deno.Command("bash", {
    args: ["-c", script, "bash", clip, String(seconds), ...urls],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pids: number[] = [];
  // bash does not pass its signals on: each ffmpeg is ended by its own pid.
  const unregister = onCleanup(`rtmp publishers (bash pid ${child.pid})`, async () => {
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already exited */ }
    }
    await endChild(child, "SIGKILL");
  });
  const timer = setTimeout(() => {
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already exited */ }
    }
  }, seconds * 1000 + PUBLISH_SLACK_MS);
  try {
    let stdout = "";
    let stderr = "";
    const stderrDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
      }
    })();
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      stdout += chunk;
      pids.splice(0, pids.length, ...[...stdout.matchAll(/^pid (\d+)$/gm)].map((match) => Number(match[1])));
    }
    const status = await child.status;
    await stderrDone;
    if (status.code !== 0) throw new Error(`${status.code} of ${urls.length} RTMP publishers failed:\n${stderr}`);
    // `times` prints the shell's own times, then its children's: "0m12.345s 0m1.234s".
    const children = [...stdout.matchAll(/^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/gm)].at(-1);
    if (children === undefined) throw new Error(`no CPU times from the publishers' shell:\n${stdout}`);
    const [, um, us, sm, ss] = children.map(Number) as [number, number, number, number, number];
    return um * 60 + us + sm * 60 + ss;
  } finally {
    clearTimeout(timer);
    unregister();
  }
}

async function output(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
