/**
 * A C library through Deno's or Bun's FFI, declared once in Deno's notation: what differs between the two runtimes
 * (the key names of a declaration, how a pointer is passed and read) stays here.
 */

import { isBun } from "./runtime.ts";

/** An opened library: its functions, and the pointer helpers both runtimes' FFI need. */
export interface NativeLibrary<S extends Deno.ForeignLibraryInterface> {
  symbols: Deno.DynamicLibrary<S>["symbols"];
  /** The address of a buffer's first byte. */
  address(bytes: Uint8Array): bigint;
  /** An address (such as one a call wrote into a buffer) as this runtime passes a `pointer` argument. */
  pointer(address: bigint): Deno.PointerValue;
  /** The 32-bit integer a returned pointer points at. */
  readI32(pointer: Deno.PointerValue): number;
}

/** The part of `bun:ffi` used here (declared, since the type checker runs on Deno). */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: readonly unknown[]; returns: unknown }>): {
    symbols: Record<string, (...args: unknown[]) => unknown>;
  };
  read: { i32(pointer: unknown, offset: number): number };
  ptr(bytes: Uint8Array): number;
}

/** Opens `path` (a file name the dynamic linker finds, or a path); undefined when it cannot be loaded. */
export async function openNativeLibrary<const S extends Deno.ForeignLibraryInterface>(
  path: string,
  symbols: S,
): Promise<NativeLibrary<S> | undefined> {
  try {
    if (isBun) {
      const specifier = "bun:ffi"; // not a literal import: Deno's type checker cannot resolve it
      const ffi = await import(specifier) as BunFfi;
      const definitions = Object.fromEntries(
        Object.entries(symbols).map(([name, symbol]) => {
          const { parameters, result } = symbol as Deno.ForeignFunction;
          return [name, { args: parameters, returns: result }];
        }),
      );
      return {
        symbols: ffi.dlopen(path, definitions).symbols as unknown as Deno.DynamicLibrary<S>["symbols"],
        address: (bytes) => BigInt(ffi.ptr(bytes)),
        pointer: (address) => Number(address) as unknown as Deno.PointerValue,
        readI32: (pointer) => ffi.read.i32(pointer, 0),
      };
    }
    return {
      symbols: Deno.dlopen(path, symbols).symbols,
      address: (bytes) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes))),
      pointer: (address) => Deno.UnsafePointer.create(address),
      readI32: (pointer) => new Deno.UnsafePointerView(pointer!).getInt32(),
    };
  } catch {
    return undefined;
  }
}
