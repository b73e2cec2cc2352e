/**
 * One end-to-end run: a fresh service child with `auto_streams = ["bench-*"]` and fs storage, idle RSS, then N
 * real-time WHIP publishers in separate processes, the service's CPU and RSS read from /proc from the first
 * stream's start of media until every recording is finalized, and a check of what landed in storage. It runs the
 * service and the publishers on the same machine; it does not try to keep them off each other's cores.
 */

import { endChild, onCleanup } from "./cleanup.ts";
import { type Hotspot, hotspots, type Profiling, startProfiling } from "./profile.ts";
import {
  type MachineSample,
  perSecond,
  type ProcSample,
  sampleMachine,
  sampleProcess,
  sampleThreads,
  threadDeltaByName,
} from "./proc_stats.ts";
import { benchStreamName, type PublisherEvent } from "./publishers.ts";
import { checkRecording, type RecordingCheck } from "./recordings.ts";
import { startBenchService } from "./service.ts";
import { SteadyWindow } from "./steady.ts";

const PUBLISHERS = new URL("./publishers.ts", import.meta.url).pathname;
/** How long the freshly started service may settle before its idle RSS is read. */
const IDLE_SETTLE_MS = 2000;
const RSS_SAMPLE_INTERVAL_MS = 250;
/** Slack beyond the media duration for connecting, pacing lag and closing. */
const PUBLISH_SLACK_MS = 60_000;
const FINALIZE_TIMEOUT_MS = 30_000;

export interface E2eOptions {
  streams: number;
  seconds: number;
  segmentDurationS: number;
  /** Parent dir for this run's config and storage. */
  dir: string;
  /** Write a CPU profile of the service to this path (.cpuprofile) and list hotspots. */
  profilePath: string | undefined;
  /** A compiled liverec to measure instead of `deno run main.ts`. */
  binary?: string | undefined;
}

export interface E2eResult {
  /** How the publishers sent: WebRTC (this file) or RTMP (rtmp.ts). */
  protocol: "whip" | "rtmp";
  streams: number;
  mediaSecondsPerStream: number;
  /** Wall time from the first stream's first media to every recording finalized. */
  windowS: number;
  /** Wall time from the first to the last publisher connecting (RTMP: to its stream being published). */
  connectSpreadS: number;
  serviceCpuS: number;
  /** The kernel-mode (stime) part of serviceCpuS. */
  serviceSystemCpuS: number;
  /** serviceCpuS split by thread name (main JS thread "deno", tokio workers, V8 GC helpers ...). */
  serviceCpuSByThread: Record<string, number>;
  /** The threads' wake-ups a second over the window, by thread name (see ThreadSample.wakeups). */
  serviceWakeupsPerSByThread: Record<string, number>;
  cpuSPerMediaMinutePerStream: number;
  /** The same over the steady state (steady.ts), when the run was long enough for one. */
  steadyCpuSPerMediaMinutePerStream: number | undefined;
  /** Service CPU over the window as a share of one core. */
  serviceCoreLoadPct: number;
  idleRssBytes: number;
  /** Highest VmRSS sampled during the window. */
  peakRssBytes: number;
  /** VmRSS once every recording is finalized. */
  endRssBytes: number;
  /** VmHWM at the end: the kernel's peak RSS over the service's whole life. */
  hwmRssBytes: number;
  publisherCpuS: number;
  publisherCoreLoadPct: number;
  /** Busy share of all cores of the machine over the window. */
  machineBusyPct: number;
  /** PLIs the publishers were sent (WHIP; RTMP has no way to ask). */
  keyframeRequests: number;
  /** Frames the publishers sent, all streams together (WHIP; RTMP's ffmpeg does not say). */
  sentFrames?: { video: number; audio: number };
  /** What the service's log says its recordings lost: packets never received, frames dropped for it. */
  serviceLoss?: { lostPackets: number; droppedFrames: number };
  recordings: RecordingCheck[];
  hotspots: { functions: Hotspot[]; modules: Hotspot[] } | undefined;
}

/** Runs the service and N publishers, measures, checks storage, stops everything it started. */
export async function runEndToEnd(opts: E2eOptions): Promise<E2eResult> {
  const dir = await Deno.makeTempDir({ dir: opts.dir, prefix: `n${opts.streams}-` });
  const serviceLoss = { lostPackets: 0, droppedFrames: 0 };
  const service = await startBenchService({
    dir,
    onLogLine: (line) => {
      if (!line.includes("recording finished")) return;
      serviceLoss.lostPackets += Number(/ lostPackets=(\d+)/.exec(line)?.[1] ?? 0);
      serviceLoss.droppedFrames += Number(/ droppedFrames=(\d+)/.exec(line)?.[1] ?? 0);
    },
    autoStreams: ["bench-*"],
    segmentDurationS: opts.segmentDurationS,
    inspect: opts.profilePath !== undefined,
    binary: opts.binary,
  });
  try {
    await delay(IDLE_SETTLE_MS);
    const idle = await sampleProcess(service.pid);
    let profiling: Profiling | undefined;
    if (opts.profilePath !== undefined) {
      if (service.inspectorUrl === undefined) throw new Error("the service printed no inspector URL");
      profiling = await startProfiling(service.inspectorUrl);
    }
    const steady = new SteadyWindow(service.pid, opts.streams);
    const publish = await publishAndSample(service.url, service.pid, opts, steady);
    await waitFinalized(service.url, Array.from({ length: opts.streams }, (_, i) => benchStreamName(i)));
    const [end, threadsEnd] = await Promise.all([sampleProcess(service.pid), sampleThreads(service.pid)]);
    const machineEnd = await sampleMachine();
    publish.stopRssSampler();
    const profile = await profiling?.stop();
    if (profile !== undefined && opts.profilePath !== undefined) {
      await Deno.writeTextFile(opts.profilePath, JSON.stringify(profile));
    }
    const code = await service.stop();
    if (code !== 0) console.error(`bench: service exited with ${code}:\n${service.logTail()}`);
    const recordings = await Promise.all(
      Array.from({ length: opts.streams }, (_, i) => checkRecording(service.root, benchStreamName(i))),
    );

    const { start, machineStart, threadsStart } = publish;
    const serviceCpuS = end.cpuS - start.cpuS;
    const windowS = (end.atMs - start.atMs) / 1000;
    const mediaMinutes = opts.streams * opts.seconds / 60;
    const machineTotalS = machineEnd.totalS - machineStart.totalS;
    return {
      protocol: "whip",
      streams: opts.streams,
      mediaSecondsPerStream: opts.seconds,
      windowS,
      connectSpreadS: publish.connectSpreadS,
      serviceCpuS,
      serviceSystemCpuS: end.systemCpuS - start.systemCpuS,
      serviceCpuSByThread: threadDeltaByName(threadsStart, threadsEnd, "cpuS"),
      serviceWakeupsPerSByThread: perSecond(threadDeltaByName(threadsStart, threadsEnd, "wakeups"), windowS),
      cpuSPerMediaMinutePerStream: serviceCpuS / mediaMinutes,
      steadyCpuSPerMediaMinutePerStream: await steady.cpuSPerMediaMinutePerStream(),
      serviceCoreLoadPct: serviceCpuS / windowS * 100,
      idleRssBytes: idle.rssBytes,
      peakRssBytes: Math.max(publish.peakRssBytes(), end.rssBytes),
      endRssBytes: end.rssBytes,
      hwmRssBytes: end.peakRssBytes,
      publisherCpuS: publish.publisherCpuS,
      publisherCoreLoadPct: publish.publisherCpuS / windowS * 100,
      machineBusyPct: machineTotalS > 0 ? (machineEnd.busyS - machineStart.busyS) / machineTotalS * 100 : 0,
      keyframeRequests: publish.keyframeRequests,
      sentFrames: publish.sentFrames,
      serviceLoss,
      recordings,
      hotspots: profile === undefined ? undefined : hotspots(profile, 12),
    };
  } finally {
    await service.stop();
  }
}

/**
 * Streams per publisher process: one werift process sends about 8 real-time streams before its own event loop falls
 * behind, and from 24 streams in one process the service saw thousands of packets never sent (measured: no loss with
 * four processes of 6).
 */
const STREAMS_PER_PUBLISHER_PROCESS = 6;

/** Spawns the publisher processes and follows their events; samples the service when the first stream connects. */
async function publishAndSample(url: string, servicePid: number, opts: E2eOptions, steady: SteadyWindow) {
  const processes = Math.ceil(opts.streams / STREAMS_PER_PUBLISHER_PROCESS);
  const children = Array.from({ length: processes }, (_, p) => {
    const first = p * STREAMS_PER_PUBLISHER_PROCESS;
    const count = Math.min(STREAMS_PER_PUBLISHER_PROCESS, opts.streams - first);
    return new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", PUBLISHERS, "--url", url, "--first", String(first), "--streams", String(count)]
        .concat(["--seconds", String(opts.seconds)]),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  });
  const unregisters = children.map((child) =>
    onCleanup(`publishers pid ${child.pid}`, () => endChild(child, "SIGKILL").then(() => {}))
  );

  let start: ProcSample | undefined;
  /** Set by the first stream to connect, in whichever process. */
  let startSampled: Promise<void> | undefined;
  let machineStart: MachineSample | undefined;
  let threadsStart: Awaited<ReturnType<typeof sampleThreads>> | undefined;
  let firstConnectMs = 0;
  let lastConnectMs = 0;
  let connected = 0;
  let peakRss = 0;
  let sampler: ReturnType<typeof setInterval> | undefined;
  let keyframeRequests = 0;
  let publisherCpuS = 0;
  const sentFrames = { video: 0, audio: 0 };
  const errors: string[] = [];
  const deadline = setTimeout(() => {
    errors.push(`publishers did not finish within ${opts.seconds} s + ${PUBLISH_SLACK_MS / 1000} s`);
    for (const child of children) void endChild(child, "SIGKILL");
  }, opts.seconds * 1000 + PUBLISH_SLACK_MS);

  /** Follows one publisher process to its end; answers what went wrong with it, if anything. */
  const follow = async (child: Deno.ChildProcess): Promise<string | undefined> => {
    let stderr = "";
    const stderrDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        stderr = (stderr + chunk).slice(-4000);
      }
    })();
    let firstConnectCpuS: number | undefined;
    let finished = false;
    for await (const line of lines(child.stdout)) {
      const event = parseEvent(line);
      if (event === undefined) continue;
      if (event.event === "connected") {
        lastConnectMs = performance.now();
        firstConnectCpuS ??= event.cpuS;
        if (startSampled === undefined) {
          firstConnectMs = lastConnectMs;
          startSampled = (async () => {
            [start, machineStart, threadsStart] = await Promise.all([
              sampleProcess(servicePid),
              sampleMachine(),
              sampleThreads(servicePid),
            ]);
            peakRss = start.rssBytes;
            sampler = setInterval(() => {
              sampleProcess(servicePid).then((s) => (peakRss = Math.max(peakRss, s.rssBytes)), () => {});
            }, RSS_SAMPLE_INTERVAL_MS);
          })();
        }
        if (++connected === opts.streams) steady.open(firstConnectMs + opts.seconds * 1000);
      } else if (event.event === "done") {
        keyframeRequests += event.keyframeRequests;
        sentFrames.video += event.videoFrames;
        sentFrames.audio += event.audioFrames;
      } else if (event.event === "error") {
        errors.push(`${event.stream}: ${event.message}`);
      } else if (event.event === "finished") {
        finished = true;
        publisherCpuS += event.cpuS - (firstConnectCpuS ?? 0);
      }
    }
    const status = await child.status;
    await stderrDone;
    return finished && status.code === 0 ? undefined : `pid ${child.pid} exited ${status.code}:\n${stderr}`;
  };

  try {
    const failures = (await Promise.all(children.map(follow))).filter((failure) => failure !== undefined);
    await startSampled;
    if (errors.length > 0 || failures.length > 0 || start === undefined) {
      throw new Error(`publishers failed: ${errors.join("; ")}\n${failures.join("\n")}`);
    }
  } catch (error) {
    clearInterval(sampler);
    throw error;
  } finally {
    clearTimeout(deadline);
    for (const unregister of unregisters) unregister();
  }
  return {
    start,
    machineStart: machineStart!,
    threadsStart: threadsStart!,
    connectSpreadS: (lastConnectMs - firstConnectMs) / 1000,
    publisherCpuS,
    keyframeRequests,
    sentFrames,
    peakRssBytes: () => peakRss,
    stopRssSampler: () => clearInterval(sampler),
  };
}

/** Polls the recording API until none of `streams` is recording any more (the final manifest is written). */
export async function waitFinalized(url: string, streams: readonly string[]): Promise<void> {
  const deadline = Date.now() + FINALIZE_TIMEOUT_MS;
  for (;;) {
    const states = await Promise.all(
      streams.map(async (stream) => {
        const response = await fetch(`${url}/api/record/${stream}`);
        return { stream, ...await response.json() as { recording: boolean; state?: string } };
      }),
    );
    const running = states.filter((state) => state.recording);
    if (running.length === 0) return;
    if (Date.now() > deadline) {
      const which = running.map((state) => `${state.stream} (${state.state})`).join(", ");
      throw new Error(`recordings not finalized within ${FINALIZE_TIMEOUT_MS} ms: ${which}`);
    }
    await delay(100);
  }
}

/** A publisher event, or undefined for anything else a library printed to stdout. */
function parseEvent(line: string): PublisherEvent | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(line);
    return typeof value?.event === "string" ? value as PublisherEvent : undefined;
  } catch {
    return undefined;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== "") yield line;
    }
  }
  if (buffered.trim() !== "") yield buffered.trim();
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
