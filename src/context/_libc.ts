/**
 * The few libc calls neither node:fs nor Bun offers (fcntl for a pipe's capacity, lseek for a
 * file offset), through bun:ffi. Loaded lazily (bun:ffi compiles a trampoline on first use,
 * about 1 ms), glibc or musl. Null where libc cannot be loaded (a static binary, no FFI, not
 * Linux): callers fall back to what needs no libc.
 */
export interface Libc {
  fcntl(fd: number, cmd: number, arg: number): number;
  lseek(fd: number, offset: number, whence: number): number | bigint;
}

export const SEEK_END = 2;

type Ffi = typeof import("bun:ffi");

/**
 * The symbols `declare` lists (given bun:ffi) from the process's libc, glibc else musl; undefined
 * where it cannot be loaded or lacks one of them (not Linux, no FFI, a static binary, an older musl).
 */
export function dlopenLibc<Fns extends Record<string, import("bun:ffi").FFIFunction>>(declare: (ffi: Ffi) => Fns): { symbols: import("bun:ffi").Library<Fns>["symbols"]; ffi: Ffi } | undefined {
  if (process.platform !== "linux") return undefined;
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  let ffi: Ffi;
  try {
    ffi = require("bun:ffi") as Ffi;
  } catch {
    return undefined; // no FFI in this runtime
  }
  const symbols = declare(ffi);
  for (const name of ["libc.so.6", `libc.musl-${arch}.so.1`]) {
    try {
      return { symbols: ffi.dlopen(name, symbols).symbols, ffi };
    } catch {
      // not this libc, or a symbol missing from it
    }
  }
  return undefined;
}

let loaded: Libc | null | undefined;

export function libc(): Libc | null {
  if (loaded !== undefined) return loaded;
  const lib = dlopenLibc(({ FFIType }) => ({
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 },
  }));
  loaded = lib ? { fcntl: lib.symbols.fcntl as Libc["fcntl"], lseek: lib.symbols.lseek as Libc["lseek"] } : null;
  return loaded;
}
