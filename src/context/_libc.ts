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

let loaded: Libc | null | undefined;

export function libc(): Libc | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.platform !== "linux") return loaded;
  const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
  try {
    const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
    for (const name of ["libc.so.6", `libc.musl-${arch}.so.1`]) {
      try {
        const lib = dlopen(name, {
          fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
          lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64 },
        });
        loaded = { fcntl: lib.symbols.fcntl as Libc["fcntl"], lseek: lib.symbols.lseek as Libc["lseek"] };
        break;
      } catch {
        // not this libc
      }
    }
  } catch {
    // no FFI in this runtime
  }
  return loaded;
}
