/**
 * liverec's composition root: reads the config, builds the storage adapter, finishes recordings a crash interrupted,
 * opens the recordings index and the webhook outbox, builds the stream hub, the recording manager and WHIP ingest,
 * serves the HTTP app, and on SIGINT/SIGTERM finalizes every recording before it exits.
 *
 *   deno task start [--config path/to/config.toml]
 */

import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import process from "node:process";
import { type Config, DEFAULT_CONFIG_TOML, openDalOptions, parseConfig, SHORT_TOKEN_LENGTH } from "./src/config/mod.ts";
import { Catalog } from "./src/catalog/mod.ts";
import { recordingEvents, Retention, settleInterrupted, WebhookOutbox } from "./src/events/mod.ts";
import { type AppDeps, createApp, createMetricsApp } from "./src/http/mod.ts";
import { RtmpIngest, UDP_RECEIVE_BUFFER_BYTES, UdpMux, WhipIngest } from "./src/ingest/mod.ts";
import { RecordingManager, recoverRecordings, StreamHub } from "./src/recorder/mod.ts";
import { LocalObjects, LocalStore, openDalStore, RecordingFiles, UploadQueue } from "./src/storage/mod.ts";
import { systemClock } from "./src/shared/clock.ts";
import { ConfigError, errorMessage, isNotFound } from "./src/shared/errors.ts";
import {
  consoleLogger,
  keepingRecentProblems,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogEntry,
  type LogFormat,
  type Logger,
  type LogLevel,
} from "./src/shared/log.ts";
import { type InstanceLock, LockedError, processAlive, takeLock } from "./src/shared/instance_lock.ts";
import { type HttpServer, runtimeName, serveHttp } from "./src/shared/runtime.ts";
import { applyBunJitOptions } from "./src/shared/bun_jit.ts";

const VERSION = "0.8.0";

const USAGE = `usage: liverec [--config config.toml] [--log-format text|json] [--log-level LEVEL] [--version] [--help]

Records live streams published over WHIP and RTMP into DASH, HLS, MPEG-TS, FLV and MP4.
Without --config, ./config.toml is read when it exists, else the built-in default (record to ./records).
Logs go to stderr, one line per event: text (default) or JSON objects. LEVEL is debug, info (default), warn or
error; the environment variable LIVEREC_LOG sets it too (the flag wins).
WebRTC media is decrypted by libsrtp 2 where it is installed (LIVEREC_LIBSRTP names another file of it; "off"
uses liverec's own SRTP).
SIGTERM or SIGINT finalizes every recording, then exits.`;

/** A command line liverec cannot run with: one line, exit code 2. */
class UsageError extends Error {
  override name = "UsageError";
}

/** The command line: every flag but --help and --version takes a value. */
interface Flags {
  config: string | undefined;
  logFormat: LogFormat;
  logLevel: LogLevel;
}

function parseFlags(args: string[]): Flags {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (!["--config", "--log-format", "--log-level"].includes(flag)) {
      throw new UsageError(`unknown flag ${JSON.stringify(flag)}; see --help`);
    }
    const value = args[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value`);
    values.set(flag, value);
  }
  const oneOf = <T extends string>(flag: string, given: string | undefined, allowed: readonly T[], fallback: T) => {
    if (given === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(given)) {
      throw new UsageError(`${flag} must be one of ${allowed.join(", ")}, got ${JSON.stringify(given)}`);
    }
    return given as T;
  };
  return {
    config: values.get("--config"),
    logFormat: oneOf("--log-format", values.get("--log-format"), LOG_FORMATS, "text"),
    logLevel: oneOf("--log-level", values.get("--log-level") ?? process.env.LIVEREC_LOG, LOG_LEVELS, "info"),
  };
}

/** A start-up failure the operator can fix (a busy port, a folder in use): one line, exit code 1. */
class StartupError extends Error {
  override name = "StartupError";
}

/** The locks this process holds on its folders, released when it stops. */
const locks: InstanceLock[] = [];

async function loadConfig(explicit: string | undefined): Promise<{ config: Config; source: string }> {
  const path = explicit ?? "config.toml";
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (explicit !== undefined || !isNotFound(error)) {
      throw new ConfigError("(file)", `cannot read ${path}: ${errorMessage(error)}`);
    }
    return { config: parseConfig(DEFAULT_CONFIG_TOML, process.env), source: "built-in default" };
  }
  return { config: parseConfig(text, process.env), source: path };
}

/** Warnings and errors kept for the console's health view. */
const RECENT_PROBLEMS = 50;
/** How long a stop waits for the spool to drain before leaving the rest for the next start. */
const SHUTDOWN_UPLOAD_WAIT_MS = 10_000;
/** Webhook retries back off from the first to the last delay; an event undelivered for a day is dropped. */
const WEBHOOK_RETRY_FIRST_MS = 1_000;
const WEBHOOK_RETRY_MAX_MS = 300_000;
const WEBHOOK_MAX_AGE_MS = 86_400_000;
/** How long a stop waits for webhooks still being delivered (the rest stay on disk for the next start). */
const SHUTDOWN_WEBHOOK_WAIT_MS = 3_000;

/**
 * The storage of the config: for fs, durable files in the root itself (no OpenDAL); for object stores, a local spool
 * drained by an upload queue into OpenDAL. The backend is checked once; a problem is logged, and recording goes on
 * into the local files.
 */
async function openStorage(
  config: Config,
  log: Logger,
): Promise<{ files: RecordingFiles; queue: UploadQueue | undefined }> {
  const storage = config.recorder.storage;
  if (storage.type === "oss" && storage.accessKeyId !== undefined && storage.securityToken === undefined) {
    // OpenDAL's OSS service would pair the file's keys with an STS token from the environment.
    delete process.env.ALIBABA_CLOUD_SECURITY_TOKEN;
  }
  const local = new LocalObjects(localDirOf(config));
  await local.init(storage.type !== "fs");
  const store = storage.type === "fs"
    ? new LocalStore(local)
    : await openDalStore(openDalOptions(storage), { timeoutMs: storage.requestTimeoutS * 1000 }).catch((error) => {
      throw new StartupError(errorMessage(error));
    });
  const problem = await store.check();
  if (problem !== undefined) log("error", "storage backend check failed; recording continues locally", { problem });
  if (storage.type === "fs") return { files: new RecordingFiles({ local, store }), queue: undefined };
  const queue = new UploadQueue({ local, store, log });
  const files = new RecordingFiles({
    local,
    store,
    queue,
    spoolLimitBytes: config.recorder.spoolMaxBytes,
    presignExpiresS: storage.presignExpiresS,
  });
  return { files, queue };
}

/** The folder recordings are written to first: the storage root for fs, the spool for object stores. */
function localDirOf(config: Config): string {
  const storage = config.recorder.storage;
  if (storage.type !== "fs") return resolve(config.recorder.spoolDir);
  return resolve(openDalOptions(storage).options.root ?? "./records");
}

async function main(args: string[]): Promise<void> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(USAGE);
    return;
  }
  if (args.includes("--version")) {
    console.log(`liverec ${VERSION} (${runtimeName}, ${process.platform}-${process.arch})`);
    return;
  }
  await applyBunJitOptions();
  let loaded;
  let log: Logger;
  let recent: { log: Logger; recent(): LogEntry[] };
  try {
    const flags = parseFlags(args);
    recent = keepingRecentProblems(consoleLogger(flags.logLevel, flags.logFormat), RECENT_PROBLEMS);
    log = recent.log;
    loaded = await loadConfig(flags.config);
  } catch (error) {
    if (!(error instanceof ConfigError || error instanceof UsageError)) throw error;
    console.error(`liverec: ${error.message}`);
    process.exit(2);
  }
  const { config, source } = loaded;
  const stateDir = resolve(config.recorder.stateDir);
  // Before anything is read or recovered: a second service on these folders would finish the first one's recordings.
  for (const path of [join(stateDir, "liverec.lock"), join(localDirOf(config), ".liverec", "lock")]) {
    try {
      locks.push(takeLock(path, process.pid, processAlive));
    } catch (error) {
      // A folder that cannot be written (read-only) cannot be damaged either; what fails there is reported later.
      if (error instanceof LockedError) throw error;
      log("warn", "cannot lock a folder against a second liverec", { path, error: errorMessage(error) });
    }
  }
  const { files, queue } = await openStorage(config, log);
  const recovered = await recoverRecordings(files, systemClock, log);
  queue?.start();
  const catalog = Catalog.open(`${stateDir}/recordings.db`, systemClock);
  const { webhooks } = config;
  const outbox = webhooks.urls.length === 0 ? undefined : new WebhookOutbox({
    urls: webhooks.urls,
    secret: webhooks.secret,
    nodeAlias: config.recorder.nodeAlias,
    dir: `${stateDir}/webhooks`,
    timeoutMs: webhooks.timeoutMs,
    retryFirstMs: WEBHOOK_RETRY_FIRST_MS,
    retryMaxMs: WEBHOOK_RETRY_MAX_MS,
    maxAgeMs: WEBHOOK_MAX_AGE_MS,
    log,
    clock: systemClock,
  });
  await outbox?.start();
  const recoveredDurations = new Map(recovered.map((r) => [r.recordId, r.durationS]));
  const pending = new Set((await files.activeRecordings()).map((active) => active.recordId));
  settleInterrupted(catalog, outbox, recoveredDurations, pending, new Date(systemClock.nowMs()).toISOString());
  const events = recordingEvents({ catalog, outbox, files, log, nodeAlias: config.recorder.nodeAlias });
  const hub = new StreamHub();
  const manager = new RecordingManager({
    hub,
    files,
    clock: systemClock,
    log,
    rules: config.recorder.rules,
    defaults: config.recorder.defaults,
    nodeAlias: config.recorder.nodeAlias,
    observer: events.observer,
  });
  const retention = new Retention({
    config: config.recorder.retention,
    rules: config.recorder.rules,
    catalog,
    files,
    manager,
    clock: systemClock,
    log,
    outbox,
    watchDisk: config.recorder.storage.type === "fs",
  });
  retention.start();
  const shortTokens = config.auth.tokens.filter((token) => token.length < SHORT_TOKEN_LENGTH).length;
  if (shortTokens > 0) {
    log(
      "warn",
      `${shortTokens} of the [auth] tokens are shorter than ${SHORT_TOKEN_LENGTH} characters: easy to guess`,
      {
        fix: "use long random tokens, e.g. openssl rand -hex 16",
      },
    );
  }
  const { udpPort } = config.webrtc;
  const udpMux = udpPort === undefined
    ? undefined
    : await UdpMux.open({ hostname: "0.0.0.0", port: udpPort }, log).catch(
      (error) => {
        throw new StartupError(`cannot listen for WebRTC on 0.0.0.0:${udpPort}/udp: ${listenProblem(error)}`);
      },
    );
  const granted = udpMux?.receiveBufferBytes;
  // The kernel reports twice what it grants (the other half is its bookkeeping).
  if (granted !== undefined && granted < 2 * UDP_RECEIVE_BUFFER_BYTES) {
    log("warn", "the kernel limits the WebRTC UDP port's receive buffer: with many streams it will drop packets", {
      granted_kib: granted / 2 / 1024,
      wanted_kib: UDP_RECEIVE_BUFFER_BYTES / 1024,
      fix: "sysctl -w net.core.rmem_max=8388608, or run as root, or set udp_port_range",
    });
  }
  const ingest = new WhipIngest({
    hub,
    clock: systemClock,
    log,
    webrtc: config.webrtc,
    ...(udpMux !== undefined ? { udpMux } : {}),
    libsrtp: process.env.LIVEREC_LIBSRTP,
  });
  let rtmp: { ingest: RtmpIngest; url: string } | undefined;
  if (config.rtmp.enabled) {
    const rtmpIngest = new RtmpIngest({ hub, clock: systemClock, log, tokens: config.auth.tokens });
    const { hostname, port } = config.rtmp.listen;
    const bound = await rtmpIngest.listen(config.rtmp.listen).catch((error) => {
      throw new StartupError(`cannot listen for RTMP on ${hostname}:${port}: ${listenProblem(error)}`);
    });
    rtmp = {
      ingest: rtmpIngest,
      url: `rtmp://${hostPort(bound)}`,
    };
  }
  const appDeps: AppDeps = {
    playbackKey: await playbackKey(stateDir),
    hub,
    manager,
    ingest,
    files,
    catalog,
    clock: systemClock,
    log,
    authTokens: config.auth.tokens,
    ...(outbox !== undefined ? { webhooks: outbox } : {}),
    retention,
    recentProblems: () => recent.recent(),
  };
  const app = createApp(appDeps);

  const { hostname, port } = config.http.listen;
  let server: HttpServer;
  try {
    server = serveHttp({ hostname, port }, app.fetch);
  } catch (error) {
    throw new StartupError(`cannot listen on ${hostname}:${port}: ${listenProblem(error)}`);
  }
  let metricsServer: HttpServer | undefined;
  const { metricsListen } = config.http;
  if (metricsListen !== undefined) {
    try {
      metricsServer = serveHttp(metricsListen, createMetricsApp(appDeps).fetch);
    } catch (error) {
      const { hostname, port } = metricsListen;
      throw new StartupError(`cannot listen for metrics on ${hostname}:${port}: ${listenProblem(error)}`);
    }
  }
  const bound = server.address;
  log("info", "liverec listening", {
    url: `http://${hostPort(bound)}`,
    ...(rtmp !== undefined ? { rtmp: rtmp.url } : {}),
    udp: udpMux !== undefined ? udpMux.address.port : `${config.webrtc.udpPortRange?.join("-")} (a port per session)`,
    ...(udpMux !== undefined ? { udp_receive: udpMux.receivePath } : {}),
    ...(metricsServer !== undefined ? { metrics: `http://${hostPort(metricsServer.address)}/metrics` } : {}),
    config: source,
    storage: files.store.description,
    recovered: recovered.length,
    runtime: runtimeName,
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "stopping: finalizing recordings", { signal });
    await retention.stop();
    await manager.shutdown();
    await events.idle();
    await ingest.close();
    await udpMux?.close();
    await rtmp?.ingest.close();
    await outbox?.stop(SHUTDOWN_WEBHOOK_WAIT_MS);
    catalog.close();
    if (queue !== undefined) {
      const drained = await queue.drained(SHUTDOWN_UPLOAD_WAIT_MS);
      if (!drained) {
        log("warn", "uploads still pending; they stay in the spool for the next start", { ...queue.status });
      }
      await queue.stop();
    }
    await server.shutdown();
    await metricsServer?.shutdown();
    for (const lock of locks) lock.release();
    log("info", "stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

/**
 * The key of signed playback URLs: 32 random bytes in `stateDir/playback.key`, made at the first start and kept, so
 * that URLs handed out stay valid across restarts. Deleting the file voids every URL given so far.
 */
async function playbackKey(stateDir: string): Promise<Uint8Array> {
  const path = join(stateDir, "playback.key");
  try {
    const key = await readFile(path);
    if (key.length >= 32) return key;
  } catch (error) {
    if (!isNotFound(error)) throw new StartupError(`cannot read ${path}: ${errorMessage(error)}`);
  }
  const key = crypto.getRandomValues(new Uint8Array(32));
  await mkdir(stateDir, { recursive: true });
  await writeFile(`${path}.tmp`, key, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
  return key;
}

/** "host:port", an IPv6 host in brackets. */
function hostPort({ hostname, port }: { hostname: string; port: number }): string {
  return `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
}

/** Why a listen failed, in a few words: "address in use" rather than the runtime's own wording and stack. */
function listenProblem(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EADDRINUSE" || (error as Error | null)?.name === "AddrInUse") return "address in use";
  if (code === "EACCES" || (error as Error | null)?.name === "PermissionDenied") {
    return "permission denied";
  }
  return errorMessage(error);
}

if (import.meta.main) {
  try {
    await main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof StartupError || error instanceof LockedError)) throw error;
    for (const lock of locks) lock.release();
    console.error(`liverec: ${error.message}`);
    process.exit(1);
  }
}
