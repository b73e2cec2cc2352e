/**
 * Runs `s3rver` (an S3-compatible server, pinned in devDependencies) as a separate Node.js process on 127.0.0.1,
 * with one bucket created at its start, and waits until it answers. Objects live in a folder on disk, so a
 * restart (same folder, same port) keeps them: tests use stop/restart, kill and pause for outages.
 *
 * What s3rver checks: it refuses unknown access key ids (InvalidAccessKeyId) and missing buckets (NoSuchBucket),
 * but it does not verify SigV4 signatures, so a wrong secret is accepted. Node needs `--openssl-legacy-provider`
 * for its paged listings (it encrypts continuation tokens with a legacy cipher).
 */

import { join } from "node:path";
import type { S3StorageConfig } from "../../src/config/mod.ts";

const S3RVER = new URL("../../node_modules/s3rver/bin/s3rver.js", import.meta.url).pathname;
const NODE = Deno.env.get("LIVEREC_TEST_NODE") ?? "node";
/** s3rver's built-in account. */
const ACCESS_KEY_ID = "S3RVER";
const SECRET_ACCESS_KEY = "S3RVER";
const READY_TIMEOUT_MS = 20_000;
const LOG_LIMIT_CHARS = 64 * 1024;

/** A running s3rver. */
export interface S3Server {
  /** `http://127.0.0.1:{port}`: path-style S3 endpoint. */
  endpoint: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** The data folder (kept across restart; removed by stop() only when startS3Server created it). */
  dir: string;
  /** The tail of what the process printed, for failure messages. */
  logs(): string;
  /** Ends the process (SIGTERM) and waits for it; removes the data folder if this helper created it. */
  stop(): Promise<void>;
  /** Ends the process, keeping its data, and starts a new one on the same folder and port; waits until ready. */
  restart(): Promise<void>;
  /** Ends the process abruptly (SIGKILL), keeping its data: an outage that `restart()` repairs. */
  kill(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections open but nothing answers. */
  pause(): void;
  /** Undoes pause() (SIGCONT). */
  resume(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Running {
  child: Deno.ChildProcess;
  exited: Promise<Deno.CommandStatus>;
  pumped: Promise<unknown>;
}

/** Starts s3rver with `bucket` created; `dir` reuses a data folder (kept on stop). */
export async function startS3Server(opts: { bucket: string; dir?: string }): Promise<S3Server> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? await Deno.makeTempDir({ prefix: "liverec-s3rver-" });
  let logText = "";
  let port = 0;
  let running: Running | undefined;
  let paused = false;

  const spawn = async (wantedPort: number): Promise<void> => {
    const child = new Deno.Command(NODE, {
      args: [
        S3RVER,
        "-d",
        join(dir, "data"),
        "-a",
        "127.0.0.1",
        "-p",
        String(wantedPort),
        "--configure-bucket",
        opts.bucket,
      ],
      env: { NODE_OPTIONS: "--openssl-legacy-provider" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let announce: (port: number) => void;
    const announced = new Promise<number>((resolve) => (announce = resolve));
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      let head = ""; // this process's first output, where the announcement is
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true });
        logText = (logText + text).slice(-LOG_LIMIT_CHARS);
        if (head.length < 4096) head += text;
        const match = /S3rver listening on 127\.0\.0\.1:(\d+)/.exec(head);
        if (match !== null) announce(Number(match[1]));
      }
    };
    const exited = child.status;
    running = { child, exited, pumped: Promise.all([pump(child.stdout), pump(child.stderr)]) };
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      port = await Promise.race([
        announced,
        exited.then((status) =>
          Promise.reject(new Error(`s3rver exited with ${status.code} before listening:\n${logText}`))
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`s3rver did not listen:\n${logText}`)), READY_TIMEOUT_MS);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    // Listening is announced after the bucket is configured; still, poll until the bucket answers a request.
    for (;;) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}/${opts.bucket}?list-type=2&max-keys=0`);
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // Not accepting connections yet.
      }
      if (Date.now() > deadline) throw new Error(`s3rver bucket "${opts.bucket}" did not become ready:\n${logText}`);
      await new Promise((resolve) => setTimeout(resolve, 20)); // poll interval, not synchronisation
    }
  };

  const end = async (signal: Deno.Signal): Promise<void> => {
    const current = running;
    if (current === undefined) return;
    running = undefined;
    try {
      if (paused && signal !== "SIGKILL") current.child.kill("SIGCONT");
      current.child.kill(signal);
    } catch {
      // Already gone.
    }
    paused = false;
    await current.exited;
    await current.pumped;
  };

  try {
    await spawn(0);
  } catch (error) {
    await end("SIGKILL");
    if (ownDir) await Deno.remove(dir, { recursive: true });
    throw error;
  }

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      await end("SIGTERM");
      if (ownDir) await Deno.remove(dir, { recursive: true });
    })();
  const signal = (name: Deno.Signal) => {
    if (running === undefined) throw new Error("s3rver is not running");
    running.child.kill(name);
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    bucket: opts.bucket,
    dir,
    logs: () => logText,
    stop,
    async restart() {
      if (stopped !== undefined) throw new Error("s3rver was stopped for good");
      await end("SIGTERM");
      await spawn(port);
    },
    kill: () => end("SIGKILL"),
    pause() {
      signal("SIGSTOP");
      paused = true;
    },
    resume() {
      signal("SIGCONT");
      paused = false;
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** liverec's storage config for `server`'s bucket below `root`: its own keys, path-style, no presigning. */
export function s3StorageConfig(server: S3Server, root: string): S3StorageConfig {
  return {
    type: "s3",
    bucket: server.bucket,
    root,
    region: "us-east-1",
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    disableConfigLoad: true,
    enableVirtualHostStyle: false,
    presignExpiresS: 0,
    requestTimeoutS: 60,
  };
}
