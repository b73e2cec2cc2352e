/**
 * Reads a process's CPU time and memory from Linux /proc (proc(5)): utime+stime of all its threads, VmRSS and
 * VmHWM; and the machine-wide busy time from /proc/stat. Linux only; it does not follow child processes.
 */

/** One reading of a process. */
export interface ProcSample {
  /** utime + stime of every thread, in seconds. */
  cpuS: number;
  /** The kernel-mode part of `cpuS` (stime): syscalls such as UDP receives and file writes. */
  systemCpuS: number;
  rssBytes: number;
  /** Peak resident set size since the process started (VmHWM). */
  peakRssBytes: number;
  /** When it was read, `performance.now()` ms. */
  atMs: number;
}

/** Machine-wide CPU time from the first line of /proc/stat, in seconds summed over all cores. */
export interface MachineSample {
  busyS: number;
  totalS: number;
}

let clockTicksPerS: number | undefined;

/** `getconf CLK_TCK` (the unit of /proc times), 100 if getconf is missing. */
export async function clockTicks(): Promise<number> {
  if (clockTicksPerS !== undefined) return clockTicksPerS;
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" }).output();
    const value = Number(new TextDecoder().decode(out.stdout).trim());
    clockTicksPerS = Number.isInteger(value) && value > 0 ? value : 100;
  } catch {
    clockTicksPerS = 100;
  }
  return clockTicksPerS;
}

/** Reads /proc/<pid>/stat and /proc/<pid>/status; throws when the process is gone. */
export async function sampleProcess(pid: number): Promise<ProcSample> {
  const ticks = await clockTicks();
  const [stat, status] = await Promise.all([
    Deno.readTextFile(`/proc/${pid}/stat`),
    Deno.readTextFile(`/proc/${pid}/status`),
  ]);
  const { utime, stime } = parseStat(stat);
  return {
    cpuS: (utime + stime) / ticks,
    systemCpuS: stime / ticks,
    rssBytes: statusKb(status, "VmRSS") * 1024,
    peakRssBytes: statusKb(status, "VmHWM") * 1024,
    atMs: performance.now(),
  };
}

/** One reading of a thread. */
export interface ThreadSample {
  /** Its name (comm): "deno" for the main JS thread, "tokio-runtime-w" for the blocking pool, "V8 DefaultWorke" ... */
  name: string;
  cpuS: number;
  /**
   * Times it went to sleep and was woken again (voluntary_ctxt_switches): a wait in epoll or on a futex, or for the
   * disk inside an fdatasync.
   */
  wakeups: number;
}

/** A reading of each live thread of `pid`, keyed by thread id. */
export async function sampleThreads(pid: number): Promise<Map<number, ThreadSample>> {
  const ticks = await clockTicks();
  const threads = new Map<number, ThreadSample>();
  for await (const entry of Deno.readDir(`/proc/${pid}/task`)) {
    try {
      const dir = `/proc/${pid}/task/${entry.name}`;
      const [stat, status] = await Promise.all([Deno.readTextFile(`${dir}/stat`), Deno.readTextFile(`${dir}/status`)]);
      const { comm, utime, stime } = parseStat(stat);
      const wakeups = Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1] ?? 0);
      threads.set(Number(entry.name), { name: comm, cpuS: (utime + stime) / ticks, wakeups });
    } catch { /* the thread ended meanwhile */ }
  }
  return threads;
}

/** How much of `field` the threads spent between two samples, summed by thread name (threads that ended are not seen). */
export function threadDeltaByName(
  before: Map<number, ThreadSample>,
  after: Map<number, ThreadSample>,
  field: "cpuS" | "wakeups",
): Record<string, number> {
  const byName: Record<string, number> = {};
  for (const [tid, thread] of after) {
    const spent = thread[field] - (before.get(tid)?.[field] ?? 0);
    byName[thread.name] = (byName[thread.name] ?? 0) + spent;
  }
  return byName;
}

/** Each value of `byName` divided by `seconds`: a rate. */
export function perSecond(byName: Record<string, number>, seconds: number): Record<string, number> {
  return Object.fromEntries(Object.entries(byName).map(([name, value]) => [name, seconds > 0 ? value / seconds : 0]));
}

/** The executable and command line of `pid`, to make sure a measured pid is the process meant. */
export async function describeProcess(pid: number): Promise<{ exe: string; args: string[] }> {
  const [exe, cmdline] = await Promise.all([
    Deno.readLink(`/proc/${pid}/exe`),
    Deno.readTextFile(`/proc/${pid}/cmdline`),
  ]);
  return { exe, args: cmdline.split("\0").filter((a) => a !== "") };
}

/** Busy and total CPU time of the whole machine (all cores). */
export async function sampleMachine(): Promise<MachineSample> {
  const ticks = await clockTicks();
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0] ?? "";
  const [, ...values] = line.trim().split(/\s+/);
  // user nice system idle iowait irq softirq steal (guest times are already inside user and nice).
  const n = values.slice(0, 8).map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.reduce((a, b) => a + b, 0);
  return { busyS: (total - idle) / ticks, totalS: total / ticks };
}

/** Fields of a proc(5) stat line; comm (field 2) may hold spaces and parentheses, so split after its last ")". */
function parseStat(stat: string): { comm: string; utime: number; stime: number } {
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" "); // fields[0] is field 3 (state)
  return {
    comm: stat.slice(stat.indexOf("(") + 1, close),
    utime: Number(fields[14 - 3]),
    stime: Number(fields[15 - 3]),
  };
}

function statusKb(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  if (match === null) throw new Error(`/proc status has no ${key}`);
  return Number(match[1]);
}
