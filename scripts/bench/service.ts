/**
 * Starts the real liverec service for the benchmark as a direct child process (`deno run main.ts --config ...` with
 * `deno task start`'s flags, no shell or wrapper in between, so the child's pid is the process to measure), with fs
 * storage under a given dir.
 * It waits for the `liverec listening url=...` log line; it does not check what the service records.
 */

import { join } from "node:path";
import { endChild, onCleanup } from "./cleanup.ts";
import { describeProcess } from "./proc_stats.ts";
import { startTaskFlags } from "../start_flags.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const LISTEN_TIMEOUT_MS = 30_000;
const LOG_TAIL_CHARS = 4000;

/** A running service. */
export interface BenchService {
  url: string;
  /** `rtmp://127.0.0.1:PORT` of its RTMP ingest (append `/APP/NAME`). */
  rtmpUrl: string | undefined;
  /** The fs storage root. */
  root: string;
  /** Pid of the deno process that runs main.ts. */
  pid: number;
  /** The V8 inspector's WebSocket URL, when started with `inspect`. */
  inspectorUrl: string | undefined;
  /** The last few thousand characters the service logged. */
  logTail(): string;
  /** SIGTERM (the service finalizes its recordings), SIGKILL after a grace period; resolves with the exit code. */
  stop(): Promise<number>;
}

/** Writes a config into `dir` and starts the service on 127.0.0.1 with an ephemeral port. */
export async function startBenchService(opts: {
  dir: string;
  autoStreams: string[];
  segmentDurationS: number;
  inspect: boolean;
  /** TOML appended to the config, e.g. `[[recorder.rules]]` tables. */
  extraToml?: string;
  /** Called with each whole line the service logs, as it arrives. */
  onLogLine?: (line: string) => void;
  /** A compiled liverec to run instead of `deno run main.ts`. */
  binary?: string | undefined;
}): Promise<BenchService> {
  const root = join(opts.dir, "records");
  const configPath = join(opts.dir, "config.toml");
  await Deno.writeTextFile(
    configPath,
    [
      `[http]`,
      `listen = "127.0.0.1:0"`,
      ``,
      `[rtmp]`,
      `listen = "127.0.0.1:0"`,
      ``,
      `[recorder]`,
      `auto_streams = ${JSON.stringify(opts.autoStreams)}`,
      `segment_duration = ${opts.segmentDurationS}`,
      // The publishers' DELETE ends the recordings, whose finalization the run waits for.
      `splice_on_unpublish = false`,
      `state_dir = ${JSON.stringify(join(opts.dir, "state"))}`,
      `spool_dir = ${JSON.stringify(join(opts.dir, "spool"))}`,
      ``,
      `[recorder.storage]`,
      `type = "fs"`,
      `root = ${JSON.stringify(root)}`,
      ``,
      opts.extraToml ?? "",
    ].join("\n"),
  );
  const args = opts.binary !== undefined
    ? []
    : ["run", ...startTaskFlags(), ...(opts.inspect ? ["--inspect=127.0.0.1:0"] : []), MAIN];
  const child = new Deno.Command(opts.binary ?? Deno.execPath(), {
    args: [...args, "--config", configPath],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { LIVEREC_LOG: "info" },
  }).spawn();
  const unregister = onCleanup(`service pid ${child.pid}`, () => endChild(child, "SIGKILL").then(() => {}));

  let log = "";
  let url: string | undefined;
  let rtmpUrl: string | undefined;
  let inspectorUrl: string | undefined;
  let listening: () => void = () => {};
  const listened = new Promise<void>((resolve) => (listening = resolve));
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    let partial = "";
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      log = (log + text).slice(-LOG_TAIL_CHARS * 4);
      inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(log)?.[1];
      if (url === undefined) {
        const listen = /liverec listening url=(http:\/\/\S+)(?: rtmp=(rtmp:\/\/\S+))?/.exec(log);
        if (listen !== null) [url, rtmpUrl] = [listen[1], listen[2]];
      }
      if (url !== undefined) listening();
      if (opts.onLogLine !== undefined) {
        const lines = (partial + text).split("\n");
        partial = lines.pop()!;
        for (const line of lines) opts.onLogLine(line);
      }
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      listened,
      child.status.then((s) => Promise.reject(new Error(`liverec exited with ${s.code} before listening:\n${log}`))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`liverec did not listen within ${LISTEN_TIMEOUT_MS} ms:\n${log}`)),
          LISTEN_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (error) {
    await endChild(child, "SIGKILL");
    unregister();
    throw error;
  } finally {
    clearTimeout(timer);
  }

  const described = await describeProcess(child.pid);
  const expected = opts.binary === undefined
    ? described.args.includes(MAIN) && described.exe.includes("deno")
    : described.exe === await Deno.realPath(opts.binary);
  if (!expected) {
    throw new Error(`pid ${child.pid} is not the liverec deno process: ${described.exe} ${described.args.join(" ")}`);
  }
  let stopped: Promise<number> | undefined;
  return {
    url: url!,
    rtmpUrl,
    root,
    pid: child.pid,
    inspectorUrl,
    logTail: () => log.slice(-LOG_TAIL_CHARS),
    stop() {
      stopped ??= (async () => {
        const code = await endChild(child, "SIGTERM", 15_000);
        await pumps;
        unregister();
        return code;
      })();
      return stopped;
    },
  };
}
