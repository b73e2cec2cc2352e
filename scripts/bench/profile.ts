/**
 * An optional CPU profile of the service, taken over the V8 inspector protocol (the service runs with
 * `--inspect=127.0.0.1:0`): Profiler.start at the start of media, Profiler.stop at the end. It writes the
 * .cpuprofile (Chrome DevTools can open it) and sums self time by function and by module. The inspector and the
 * sampling add some CPU of their own, so the CPU figures of a profiled run read a little high.
 */

/** A V8 CPU profile (Chrome DevTools Protocol `Profiler.Profile`), the parts used here. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }[];
  samples?: number[];
  timeDeltas?: number[];
}

/** A function or module and the share of busy (non-idle) samples spent in it. */
export interface Hotspot {
  name: string;
  selfMs: number;
  sharePct: number;
}

/** A started profile; `stop()` ends it and returns the raw profile. */
export interface Profiling {
  stop(): Promise<CpuProfile>;
}

const SAMPLING_INTERVAL_US = 1000;

/** Connects to the inspector at `wsUrl` and starts sampling. */
export async function startProfiling(wsUrl: string): Promise<Profiling> {
  const socket = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`cannot connect to the inspector at ${wsUrl}`));
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data));
    const waiter = typeof message.id === "number" ? pending.get(message.id) : undefined;
    if (waiter === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(`inspector: ${JSON.stringify(message.error)}`));
    else waiter.resolve(message.result);
  };
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
  await call("Profiler.start");
  return {
    async stop() {
      const result = await call("Profiler.stop") as { profile: CpuProfile };
      socket.close();
      return result.profile;
    },
  };
}

/** Self time by function (`name url:line`) and by module (an npm package or a src/ folder), busiest first. */
export function hotspots(profile: CpuProfile, top: number): { functions: Hotspot[]; modules: Hotspot[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  samples.forEach((id, i) => {
    // The delta before sample i+1 is the time sample i stood for.
    const us = deltas[i + 1] ?? SAMPLING_INTERVAL_US;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  });
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === "(idle)") continue;
    busyUs += us;
    const where = frame.url === "" ? "" : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    const fn = `${frame.functionName || "(anonymous)"}${where}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    const module = moduleOf(frame.url, frame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + us);
  }
  const rank = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({
      name,
      selfMs: Math.round(us / 1000),
      sharePct: busyUs === 0 ? 0 : Math.round(us / busyUs * 1000) / 10,
    }));
  return { functions: rank(functions), modules: rank(modules) };
}

function shortUrl(url: string): string {
  const npm = /node_modules\/(?:\.deno\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+\/.*)$/.exec(url);
  if (npm !== null) return npm[1]!;
  const own = /\/(src\/.*|main\.ts)$/.exec(url);
  return own !== null ? own[1]! : url.replace(/^file:\/\//, "");
}

function moduleOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native/builtin)";
  const npm = /node_modules\/(?:\.deno\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (npm !== null) return `npm:${npm[1]}`;
  const own = /\/(src\/[^/]+)\//.exec(url);
  if (own !== null) return own[1]!;
  if (url.startsWith("ext:") || url.startsWith("node:")) return `deno runtime (${url.split("/")[0]})`;
  return shortUrl(url);
}
