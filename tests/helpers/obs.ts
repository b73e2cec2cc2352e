/**
 * Real OBS Studio (Debian's obs-studio 29), run headless for the tests: a configuration written from scratch into a
 * temporary HOME (`~/.config/obs-studio`: global.ini, one profile, one scene collection), an Xvfb display (Mesa's
 * llvmpipe gives OBS its OpenGL), and obs-websocket (built into OBS 29) to drive it as a user would: Stop Streaming
 * is the websocket's StopStream, the same call the button makes. It judges nothing about what was recorded.
 *
 * What OBS 29 needs to start unattended (UI/obs-app.cpp and UI/window-basic-main.cpp at tag 29.0.2):
 * - `[General] FirstRun=true` and a `LastVersion`: without them it opens the auto-configuration wizard (the key's
 *   meaning is inverted: true means the first run is done).
 * - `[General] ConfirmOnExit=false`: closing while an output is active otherwise asks for confirmation.
 * - `[OBSWebSocket] FirstLoad=false`: otherwise the plugin makes up its own password on first load.
 * - `--multi`, so that no "already running" question can come up.
 * On SIGINT OBS closes its main window (outputs are stopped at once, an RTMP stream with FCUnpublish and
 * deleteStream) and quits, though now and then it hangs after "Shutting down" (its handler calls into Qt from the
 * signal). SIGTERM has no handler and kills it on the spot: to a server, a dropped connection.
 * xvfb-run is not used: a signal to it takes the X server down under OBS, which then crashes instead of quitting.
 */

import { join } from "node:path";

/** OBS 29.0.2 as OBS numbers versions (MAKE_SEMANTIC_VERSION: major << 24 | minor << 16 | patch). */
const LAST_VERSION = (29 << 24) | (0 << 16) | 2;

/** `name`'s path as an executable file on PATH, or undefined. */
export async function which(name: string): Promise<string | undefined> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    const path = join(dir, name);
    try {
      const info = await Deno.stat(path);
      if (info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

/** Why OBS cannot run headless here (the packages to install), or undefined when it can. */
export async function obsMissing(): Promise<string | undefined> {
  const missing = [];
  if (await which("obs") === undefined) missing.push("obs (apt-get install obs-studio)");
  if (await which("Xvfb") === undefined) missing.push("Xvfb (apt-get install xvfb)");
  return missing.length === 0 ? undefined : `not installed: ${missing.join(", ")}`;
}

export interface ObsConfig {
  /** The folder to use as HOME; the configuration goes to `.config/obs-studio` in it. */
  home: string;
  /** Custom server, e.g. `rtmp://127.0.0.1:1935/live`, and stream key, e.g. `obs`. */
  server: string;
  key: string;
  /** A media file the scene plays in a loop (a Media Source, `ffmpeg_source`): picture and sound. */
  media: string;
  /** Where Start Recording writes its FLV (the same encoders as the stream: Recording Quality "Same as stream"). */
  recordingDir: string;
  websocketPort: number;
  websocketPassword: string;
  width?: number;
  height?: number;
}

/** Writes global.ini, the profile `liverec` (Simple output: x264 + AAC, OBS's defaults) and the collection `liverec`. */
export async function writeObsConfig(config: ObsConfig): Promise<void> {
  const base = join(config.home, ".config", "obs-studio");
  const profile = join(base, "basic", "profiles", "liverec");
  const scenes = join(base, "basic", "scenes");
  await Deno.mkdir(profile, { recursive: true });
  await Deno.mkdir(scenes, { recursive: true });
  const width = config.width ?? 1280;
  const height = config.height ?? 720;
  await Deno.writeTextFile(
    join(base, "global.ini"),
    ini({
      General: {
        FirstRun: "true",
        LastVersion: String(LAST_VERSION),
        ConfirmOnExit: "false",
        EnableAutoUpdates: "false",
        Pre19Defaults: "false",
        Pre21Defaults: "false",
        Pre23Defaults: "false",
        "Pre24.1Defaults": "false",
      },
      Basic: { Profile: "liverec", ProfileDir: "liverec", SceneCollection: "liverec", SceneCollectionFile: "liverec" },
      BasicWindow: { SysTrayEnabled: "false", PreviewEnabled: "false" },
      OBSWebSocket: {
        FirstLoad: "false",
        ServerEnabled: "true",
        ServerPort: String(config.websocketPort),
        AlertsEnabled: "false",
        AuthRequired: "true",
        ServerPassword: config.websocketPassword,
      },
    }),
  );
  // Simple output mode with its defaults: x264 "veryfast" CBR 2500 kb/s (B-frames, keyframe interval left to x264:
  // 250 frames, scene cuts between), AAC 160 kb/s. The recording shares the stream's encoders.
  await Deno.writeTextFile(
    join(profile, "basic.ini"),
    ini({
      General: { Name: "liverec" },
      Output: { Mode: "Simple" },
      SimpleOutput: {
        StreamEncoder: "x264",
        RecQuality: "Stream",
        RecFormat: "flv",
        FilePath: config.recordingDir,
      },
      Video: {
        BaseCX: String(width),
        BaseCY: String(height),
        OutputCX: String(width),
        OutputCY: String(height),
        FPSType: "0",
        FPSCommon: "30",
      },
      Audio: { SampleRate: "48000", ChannelSetup: "Stereo" },
    }),
  );
  await Deno.writeTextFile(
    join(profile, "service.json"),
    JSON.stringify({ type: "rtmp_custom", settings: { server: config.server, key: config.key } }),
  );
  const item = {
    name: "Clip",
    id: 1,
    visible: true,
    locked: false,
    pos: { x: 0, y: 0 },
    scale: { x: 1, y: 1 },
    rot: 0,
    align: 5,
    bounds_type: 0,
    bounds: { x: 0, y: 0 },
    bounds_align: 0,
  };
  await Deno.writeTextFile(
    join(scenes, "liverec.json"),
    JSON.stringify({
      name: "liverec",
      current_scene: "Scene",
      current_program_scene: "Scene",
      scene_order: [{ name: "Scene" }],
      sources: [
        { id: "scene", versioned_id: "scene", name: "Scene", settings: { id_counter: 1, items: [item] } },
        {
          id: "ffmpeg_source",
          versioned_id: "ffmpeg_source",
          name: "Clip",
          settings: { is_local_file: true, local_file: config.media, looping: true, restart_on_activate: true },
        },
      ],
      transitions: [],
      current_transition: "Fade",
      transition_duration: 300,
    }),
  );
}

function ini(sections: Record<string, Record<string, string>>): string {
  return Object.entries(sections)
    .map(([name, keys]) => `[${name}]\n${Object.entries(keys).map(([k, v]) => `${k}=${v}\n`).join("")}`)
    .join("\n");
}

/** A free TCP port on loopback (closed again: OBS binds it a moment later). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A child process whose stdout and stderr are collected. */
export interface Running {
  log(): string;
  /** Sends `signal`, waits up to `timeoutMs` for the exit, then SIGKILLs; resolves with the exit status. */
  stop(signal: Deno.Signal, timeoutMs?: number): Promise<Deno.CommandStatus>;
  status: Promise<Deno.CommandStatus>;
}

function collect(child: Deno.ChildProcess, onText?: (text: string) => void): Running {
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      onText?.(text);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const status = child.status;
  let stopping: Promise<Deno.CommandStatus> | undefined;
  return {
    log: () => text,
    status,
    stop(signal, timeoutMs = 20_000) {
      stopping ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        let timer: ReturnType<typeof setTimeout> | undefined;
        const result = await Promise.race([
          status,
          new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
        ]);
        clearTimeout(timer);
        if (result === undefined) {
          try {
            child.kill("SIGKILL");
          } catch { /* gone meanwhile */ }
        }
        const final = await status;
        await pumps;
        return final;
      })();
      return stopping;
    },
  };
}

/** Starts Xvfb on a display number it picks itself (`-displayfd`); resolves with `:N` once it accepts clients. */
export async function startXvfb(): Promise<Running & { display: string }> {
  const child = new Deno.Command("Xvfb", {
    args: ["-displayfd", "1", "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-noreset"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let found: (display: string) => void;
  const display = new Promise<string>((resolve) => (found = resolve));
  const running = collect(child, (text) => {
    const match = /^(\d+)\n/m.exec(text);
    if (match !== null) found(`:${match[1]}`);
  });
  const early = running.status.then((s) => Promise.reject(new Error(`Xvfb exited (${s.code}):\n${running.log()}`)));
  early.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`Xvfb did not start:\n${running.log()}`)), 15_000)
  );
  try {
    return { ...running, display: await Promise.race([display, early, timeout]) };
  } catch (error) {
    await running.stop("SIGKILL");
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts OBS on `display` with the configuration in `home` (writeObsConfig), the profile and collection `liverec`. */
export function startObs(opts: { home: string; display: string; args?: string[] }): Running {
  const child = new Deno.Command("obs", {
    args: [
      ...["--multi", "--profile", "liverec", "--collection", "liverec", "--scene", "Scene"],
      ...(opts.args ?? []),
    ],
    env: {
      HOME: opts.home,
      DISPLAY: opts.display,
      XDG_CONFIG_HOME: join(opts.home, ".config"),
      XDG_RUNTIME_DIR: opts.home,
      LIBGL_ALWAYS_SOFTWARE: "1",
    },
    clearEnv: false,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  return collect(child);
}

/**
 * A minimal obs-websocket 5 client (protocol: github.com/obsproject/obs-websocket docs/generated/protocol.md):
 * Hello, Identify with the password's challenge answer, then requests and Outputs events.
 */
export class ObsWebSocket {
  readonly #socket: WebSocket;
  readonly #pending = new Map<string, (response: ObsResponse) => void>();
  readonly #events: { eventType: string; eventData: Record<string, unknown> }[] = [];
  #next = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
  }

  /** Connects and identifies, retrying the connection until OBS listens or `timeoutMs` passes. */
  static async connect(port: number, password: string, timeoutMs = 30_000): Promise<ObsWebSocket> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await ObsWebSocket.#tryConnect(port, password);
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`obs-websocket on port ${port}: ${error}`);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  static #tryConnect(port: number, password: string): Promise<ObsWebSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}`, "obswebsocket.json");
      const client = new ObsWebSocket(socket);
      socket.onerror = () => reject(new Error("connection failed"));
      socket.onclose = (event) => reject(new Error(`closed: ${event.code} ${event.reason}`));
      socket.onmessage = async (event) => {
        const message = JSON.parse(String(event.data)) as { op: number; d: Record<string, unknown> };
        if (message.op === 0) {
          const auth = message.d.authentication as { challenge: string; salt: string } | undefined;
          const identify: Record<string, unknown> = { rpcVersion: 1, eventSubscriptions: 1 << 6 }; // Outputs
          if (auth !== undefined) {
            const secret = await sha256Base64(password + auth.salt);
            identify.authentication = await sha256Base64(secret + auth.challenge);
          }
          socket.send(JSON.stringify({ op: 1, d: identify }));
        } else if (message.op === 2) {
          socket.onclose = () => {
            for (const settle of client.#pending.values()) {
              settle({ ok: false, comment: "connection closed", data: {} });
            }
            client.#pending.clear();
          };
          socket.onerror = null;
          resolve(client);
        } else if (message.op === 5) {
          client.#events.push(message.d as { eventType: string; eventData: Record<string, unknown> });
        } else if (message.op === 7) {
          const d = message.d as {
            requestId: string;
            requestStatus: { result: boolean; comment?: string };
            responseData?: Record<string, unknown>;
          };
          client.#pending.get(d.requestId)?.({
            ok: d.requestStatus.result,
            comment: d.requestStatus.comment ?? "",
            data: d.responseData ?? {},
          });
          client.#pending.delete(d.requestId);
        }
      };
    });
  }

  /** Sends a request; resolves with OBS's answer (a refusal is `ok: false`, not an exception). */
  request(requestType: string, requestData?: Record<string, unknown>): Promise<ObsResponse> {
    const requestId = String(++this.#next);
    return new Promise((resolve) => {
      this.#pending.set(requestId, resolve);
      this.#socket.send(JSON.stringify({ op: 6, d: { requestType, requestId, requestData } }));
    });
  }

  /** The `eventType` events received so far (Outputs: StreamStateChanged, RecordStateChanged...). */
  events(eventType: string): Record<string, unknown>[] {
    return this.#events.filter((e) => e.eventType === eventType).map((e) => e.eventData);
  }

  close(): void {
    this.#socket.close();
  }
}

export interface ObsResponse {
  ok: boolean;
  comment: string;
  data: Record<string, unknown>;
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}
