/**
 * Reads a process's CPU time and memory from Linux /proc (proc(5)): utime+stime of all its threads, VmRSS and
 * VmHWM; and the machine-wide busy time from /proc/stat. Linux only; it does not follow child processes.
 */

/** One reading of a process. */
export interface ProcSample {
  /** utime + stime of every thread, in seconds. */
  cpuS: number;
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
  // Field 2 (comm) may hold spaces and parentheses; the fields after its closing ")" start at field 3 (state).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  return {
    cpuS: (utime + stime) / ticks,
    rssBytes: statusKb(status, "VmRSS") * 1024,
    peakRssBytes: statusKb(status, "VmHWM") * 1024,
    atMs: performance.now(),
  };
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

function statusKb(status: string, key: string): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status);
  if (match === null) throw new Error(`/proc status has no ${key}`);
  return Number(match[1]);
}
