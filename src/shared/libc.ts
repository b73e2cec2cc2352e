/**
 * libc through Deno's or Bun's FFI, on Linux: the calls that neither runtime's `node:` modules offer (the polled UDP
 * socket, the TCP receive low-water mark, execve for Bun's JIT options), one `dlopen` for the process.
 */

import process from "node:process";
import { openNativeLibrary } from "./ffi.ts";

/** The libc calls liverec makes, in Deno's FFI notation. */
const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** libc's calls as both runtimes' FFI present them, `errno`, and the address of a buffer (for recvmmsg's vectors). */
export type Libc = Omit<Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"], "__errno_location"> & {
  errno(): number;
  address(bytes: Uint8Array): bigint;
};

/** libc through Deno's or Bun's FFI, on Linux; undefined elsewhere or without Deno's FFI permission. */
async function loadLibc(): Promise<Libc | undefined> {
  if (process.platform !== "linux") return undefined;
  const library = await openNativeLibrary("libc.so.6", LIBC_SYMBOLS);
  if (library === undefined) return undefined;
  const { symbols, address, readI32 } = library;
  return { ...symbols, errno: () => readI32(symbols.__errno_location()), address };
}

let loaded: Promise<Libc | undefined> | undefined;

/** libc, loaded once; undefined elsewhere than on Linux or without Deno's FFI permission. */
export function openLibc(): Promise<Libc | undefined> {
  return loaded ??= loadLibc();
}

/** `SOL_SOCKET` (asm-generic/socket.h). */
export const SOL_SOCKET = 1;
