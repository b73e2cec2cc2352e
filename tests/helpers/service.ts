/**
 * Runs the real liverec service as a child process on loopback, with a config written to a temporary folder and a
 * fresh fs storage root, and waits until it listens. Tests talk to it over HTTP and WHIP like any client; the
 * requests and waits they share (a stream's recording status, live, recording, finished; a publish in the background)
 * are here too. It judges nothing about what is recorded.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { dailyRecordDir } from "../../src/recorder/mod.ts";
import type { Clip } from "../../scripts/clip.ts";
import { startTaskFlags } from "../../scripts/start_flags.ts";
import { publishClip, type PublishClipOptions, type PublishResult } from "../../scripts/publish.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const DENO = Deno.execPath();

export interface Service {
  url: string;
  /** `rtmp://127.0.0.1:PORT` of its RTMP ingest (append `/APP/NAME`). */
  readonly rtmpUrl: string;
  /** The fs storage root (an absolute path). */
  root: string;
  dir: string;
  /** The service's process id. */
  pid: number;
  /** Everything the service logged so far. */
  logs(): string;
  /** Sends a signal and waits for the process to end; resolves with its exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Makes an HTTP request to the service. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * Starts liverec with `toml` after its `[http]` section, and `http` lines inside it; `storageRoot` reuses an earlier
 * run's records. `command` runs another build of it (a compiled binary) in `dir`, instead of main.ts on this Deno;
 * `env` adds environment variables.
 */
export async function startService(
  opts: {
    toml?: string;
    http?: string;
    storageRoot?: string;
    dir?: string;
    command?: string;
    env?: Record<string, string>;
  } = {},
): Promise<Service> {
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "liverec-test-" });
  const root = opts.storageRoot ?? join(dir, "records");
  // Each service keeps its own state (recordings index, webhook outbox) in its test folder. A publisher's DELETE is
  // final, so that a test's publish ends its recording, unless the test says otherwise (timeline_e2e_test.ts).
  const given = opts.toml ?? "";
  const stateDir = `state_dir = ${JSON.stringify(join(dir, "state"))}\n` +
    (/^splice_on_unpublish/m.test(given) ? "" : "splice_on_unpublish = false\n");
  const toml = /^\[recorder\]$/m.test(given) || /^state_dir/m.test(given)
    ? given.replace(/^\[recorder\]\n/m, (header) => /^state_dir/m.test(given) ? header : header + stateDir)
    : `[recorder]\n${stateDir}${given}`;
  const hasStorage = /\[recorder\.storage\]/.test(toml);
  // Each service gets its own UDP port for WebRTC (the shared one, unless the test sets a port or a range).
  const webrtc = /^udp_port/m.test(toml) ? toml : toml.replace(/^\[webrtc\]\n/m, "[webrtc]\nudp_port = 0\n");
  const configText = [
    `[http]\nlisten = "127.0.0.1:0"\n${opts.http ?? ""}`,
    /^\[rtmp\]$/m.test(toml) ? "" : `[rtmp]\nlisten = "127.0.0.1:0"\n`,
    /^\[webrtc\]$/m.test(toml) ? "" : `[webrtc]\nudp_port = 0\n`,
    webrtc,
    hasStorage ? "" : `\n[recorder.storage]\ntype = "fs"\nroot = ${JSON.stringify(root)}\n`,
  ].join("\n");
  const configPath = join(dir, "config.toml");
  await Deno.writeTextFile(configPath, configText);
  const child = new Deno.Command(opts.command ?? DENO, {
    args: [...(opts.command === undefined ? ["run", ...startTaskFlags(), MAIN] : []), "--config", configPath],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { LIVEREC_LOG: "debug", ...opts.env },
  }).spawn();
  let logText = "";
  let rtmpUrl: string | undefined;
  const decoder = new TextDecoder();
  let resolveUrl: (url: string) => void;
  const urlPromise = new Promise<string>((resolve) => (resolveUrl = resolve));
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      logText += decoder.decode(chunk, { stream: true });
      const match = /liverec listening url=(http:\/\/\S+)(?: rtmp=(rtmp:\/\/\S+))?/.exec(logText);
      if (match !== null) resolveUrl(match[1]!);
      if (match?.[2] !== undefined) rtmpUrl = match[2];
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const exited = child.status;
  const url = await Promise.race([
    urlPromise,
    exited.then((s) => Promise.reject(new Error(`liverec exited with ${s.code} before listening:\n${logText}`))),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`liverec did not listen:\n${logText}`)), 20_000)
    ),
  ]);
  let stopped: Promise<number> | undefined;
  return {
    url,
    get rtmpUrl() {
      if (rtmpUrl === undefined) throw new Error(`the service listens for no RTMP:\n${logText}`);
      return rtmpUrl;
    },
    root,
    dir,
    pid: child.pid,
    logs: () => logText,
    stop(signal: Deno.Signal = "SIGTERM") {
      stopped ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        const status = await exited;
        await pumps;
        return status.code;
      })();
      return stopped;
    },
    fetch: (path, init) => fetch(`${url}${path}`, init),
  };
}

/** Polls `check` every 100 ms until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** `GET /api/record/:stream`, as far as the tests read it. */
export interface RecordStatus {
  recording: boolean;
  stream_live: boolean;
  state?: string;
  record_id?: string;
  record_dir?: string;
  mpd_path?: string;
  hls_path?: string | null;
  reason?: string;
  segments?: number;
  periods?: number;
  duration_s?: number;
  started_at?: string;
  splice_deadline?: string | null;
  storage_errors?: number;
  last_storage_error?: string | null;
  /** The recording pipeline's counters (src/recorder/pipeline.ts PipelineStats). */
  stats?: Record<string, number> | null;
}

/** `GET /api/record/:stream`; fails unless the service answers 200. */
export async function recordStatus(service: Service, stream: string): Promise<RecordStatus> {
  const response = await service.fetch(`/api/record/${stream}`);
  const text = await response.text();
  assert.equal(response.status, 200, `GET /api/record/${stream}: ${text}`);
  return JSON.parse(text);
}

/** Resolves once `stream` is live on the service (its WHIP session exists). */
export async function streamLive(service: Service, stream: string): Promise<void> {
  await waitFor(`${stream} to be live`, async () => (await recordStatus(service, stream)).stream_live || undefined);
}

/** Resolves with the status once `stream` is being recorded and the status names its record id, folder and MPD. */
export function recordingStarted(
  service: Service,
  stream: string,
): Promise<RecordStatus & { record_id: string; record_dir: string; mpd_path: string }> {
  return waitFor(`${stream} to be recording`, async () => {
    const status = await recordStatus(service, stream);
    const { recording, record_id, record_dir, mpd_path } = status;
    if (!recording || record_id === undefined || record_dir === undefined || mpd_path === undefined) return undefined;
    return { ...status, record_id, record_dir, mpd_path };
  });
}

/** Resolves once `stream` is not being recorded: its recording, if it had one, is finalized. */
export async function recordingFinished(service: Service, stream: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(`${stream} to stop recording`, async () => {
    return (await recordStatus(service, stream)).recording ? undefined : true;
  }, timeoutMs);
}

/** The service's URL of a stored object, e.g. an MPD path from the API, each segment percent-encoded. */
export function objectUrl(service: Service, path: string): string {
  return `${service.url}/api/record/object/${path.split("/").map(encodeURIComponent).join("/")}`;
}

/** A publish of the clip running in the background. */
export interface BackgroundPublish {
  /** What was sent, once the publish ends; a failure is not reported as unhandled before it is awaited. */
  result: Promise<PublishResult>;
  /** Whether the publish has ended, either way. */
  ended(): boolean;
}

/** Starts `publishClip(opts)` without waiting for it. */
export function publishInBackground(opts: PublishClipOptions): BackgroundPublish {
  let ended = false;
  const result = publishClip(opts).finally(() => (ended = true));
  result.catch(() => {}); // awaited by the caller; this only keeps an early failure from going unhandled
  return { result, ended: () => ended };
}

/** The daily record folder (`YYYY/MM/DD`, UTC) that recordings started now go to. */
export function todayFolder(): string {
  return dailyRecordDir("", Date.now()).slice(1);
}

/**
 * Publishes the clip to `streamId` and SIGKILLs the service once `killAfterFrames` video frames were sent (mid-way
 * through a segment, when the caller picks the number so); resolves with the frames sent before the kill.
 */
export async function publishAndKill(
  service: Service,
  streamId: string,
  clip: Clip,
  killAfterFrames: number,
): Promise<number> {
  const abort = new AbortController();
  let sent = 0;
  const publishing = publishClip({
    url: `${service.url}/whip/${streamId}`,
    seconds: 60,
    clip,
    signal: abort.signal,
    onVideoFrame: (count) => (sent = count),
  }).catch(() => undefined);
  try {
    await waitFor(
      `${killAfterFrames} frames sent`,
      () => Promise.resolve(sent >= killAfterFrames ? true : undefined),
      30_000,
    );
  } finally {
    await service.stop("SIGKILL");
    abort.abort();
    await publishing;
  }
  return sent;
}
