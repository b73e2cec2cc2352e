/**
 * libc through Deno's or Bun's FFI, on Linux: the socket calls that neither runtime's `node:` modules offer (the
 * polled UDP socket, the TCP receive low-water mark), one `dlopen` for the process.
 */

import process from "node:process";
import { isBun } from "./runtime.ts";

/** The libc calls liverec makes, in Deno's FFI notation (Bun's differs in two key names). */
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
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** libc's calls as both runtimes' FFI present them, `errno`, and the address of a buffer (for recvmmsg's vectors). */
export type Libc = Omit<Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"], "__errno_location"> & {
  errno(): number;
  address(bytes: Uint8Array): bigint;
};

/** The part of `bun:ffi` used here (declared, since the type checker runs on Deno). */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: readonly string[]; returns: string }>): {
    symbols: Record<string, (...args: unknown[]) => unknown>;
  };
  read: { i32(pointer: unknown, offset: number): number };
  ptr(bytes: Uint8Array): number;
}

/** libc through Deno's or Bun's FFI, on Linux; undefined elsewhere or without Deno's FFI permission. */
async function loadLibc(): Promise<Libc | undefined> {
  if (process.platform !== "linux") return undefined;
  try {
    if (isBun) {
      const specifier = "bun:ffi"; // not a literal import: Deno's type checker cannot resolve it
      const ffi = await import(specifier) as BunFfi;
      const definitions = Object.fromEntries(
        Object.entries(LIBC_SYMBOLS).map((
          [name, { parameters, result }],
        ) => [name, { args: parameters, returns: result }]),
      );
      const symbols = ffi.dlopen("libc.so.6", definitions).symbols;
      return {
        ...symbols,
        errno: () => ffi.read.i32(symbols.__errno_location!(), 0),
        address: (bytes: Uint8Array) => BigInt(ffi.ptr(bytes)),
      } as unknown as Libc;
    }
    const { symbols } = Deno.dlopen("libc.so.6", LIBC_SYMBOLS);
    return {
      ...symbols,
      errno: () => new Deno.UnsafePointerView(symbols.__errno_location()!).getInt32(),
      address: (bytes) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes))),
    };
  } catch {
    return undefined;
  }
}

let loaded: Promise<Libc | undefined> | undefined;

/** libc, loaded once; undefined elsewhere than on Linux or without Deno's FFI permission. */
export function openLibc(): Promise<Libc | undefined> {
  return loaded ??= loadLibc();
}

/** `SOL_SOCKET` (asm-generic/socket.h). */
export const SOL_SOCKET = 1;
