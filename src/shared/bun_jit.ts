/**
 * JavaScriptCore's JIT options for the service under Bun (the single binary). JSC's top tier, the FTL, compiled the
 * media path again and again: at 1 and 4 WHIP streams its thread took as much CPU as the main thread, and the code
 * it made was no faster. Without it (`BUN_JSC_useFTLJIT=0`) the binary uses about a fifth less CPU, with the main
 * thread's own time the same (the README's "One binary" has the measurements).
 *
 * JSC reads its options from the environment once, as the process starts. So a Bun process without the variable
 * replaces itself (`execve` of its own executable, same arguments, same pid: a supervisor and its signals see one
 * process) with the variable added. Set it yourself (`BUN_JSC_useFTLJIT=1` turns the FTL back on) and the process
 * runs as it is.
 */

import { readFileSync, readlinkSync } from "node:fs";
import process from "node:process";
import { openLibc } from "./libc.ts";
import { isBun } from "./runtime.ts";

const FTL_OPTION = "BUN_JSC_useFTLJIT";
const OPTIONS = `${FTL_OPTION}=0`;
/** Room for the strings, so that the buffer lives outside the garbage-collected heap and its address holds. */
const MIN_BUFFER_BYTES = 64 * 1024;

/**
 * Under Bun on Linux without `BUN_JSC_useFTLJIT` set, starts this process again with it set: returns only when it
 * cannot (no libc, no /proc, execve refused), and the process then goes on as it is.
 */
export async function applyBunJitOptions(): Promise<void> {
  if (!isBun || process.platform !== "linux" || process.env[FTL_OPTION] !== undefined) return;
  const libc = await openLibc();
  if (libc === undefined) return;
  let executable: string;
  let argv: Uint8Array;
  let environ: Uint8Array;
  try {
    // The file itself, not /proc/self/exe: the process's name (in ps and top) is the name of the file run.
    executable = readlinkSync("/proc/self/exe");
    argv = readFileSync("/proc/self/cmdline");
    environ = readFileSync("/proc/self/environ");
  } catch {
    return;
  }
  const encoder = new TextEncoder();
  const added = encoder.encode(`${OPTIONS}\0`);
  const end = argv.length + environ.length + added.length;
  const strings = new Uint8Array(Math.max(MIN_BUFFER_BYTES, end));
  strings.set(argv);
  strings.set(environ, argv.length);
  strings.set(added, argv.length + environ.length);
  const base = libc.address(strings);
  const argvPointers = pointerArray(base, nulTerminatedStarts(strings, 0, argv.length));
  const environPointers = pointerArray(base, nulTerminatedStarts(strings, argv.length, end));
  libc.execve(encoder.encode(`${executable}\0`), argvPointers, environPointers);
}

/** The offsets of the NUL-terminated strings in `bytes[from, to)`. */
function nulTerminatedStarts(bytes: Uint8Array, from: number, to: number): number[] {
  const starts: number[] = [];
  let start = from;
  for (let i = from; i < to; i++) {
    if (bytes[i] !== 0) continue;
    starts.push(start);
    start = i + 1;
  }
  return starts;
}

/** A NULL-terminated array of pointers, `base` plus each offset, as execve takes `argv` and `envp`. */
function pointerArray(base: bigint, offsets: number[]): Uint8Array {
  const pointers = new BigUint64Array(offsets.length + 1);
  offsets.forEach((offset, i) => pointers[i] = base + BigInt(offset));
  return new Uint8Array(pointers.buffer);
}
