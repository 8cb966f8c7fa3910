/**
 * The per-file loops of a context as native code (issue #18): the tar writer's
 * (native/tar_records.c) and the walk's directory read (native/read_dir.c), compiled in the
 * process by bun:ffi's `cc` (TinyCC, part of Bun), ~4-5 ms, once a context has NATIVE_AFTER
 * entries (or when the part worker starts, _split.ts).
 *
 * Why: after the system calls, what a small file of a context costs is JavaScript: an entry
 * object, its header's fields, a string per name, the FFI calls around each statx, open, read
 * and close. Measured on 40,000 files of 100 B..12 KiB (`imgb context DIR -o - | cat`): imgb
 * spent ~0.19 s of user time against GNU tar's 0.03, about half of it in the writer's
 * per-file work and a third in the walk's.
 *
 * Where they cannot be had, the walk and the writer do everything in TypeScript, as before: not
 * Linux, no bun:ffi or no `cc` in this Bun, nowhere to put the source (TinyCC reads it from a
 * file: a memory file, else a temp file), a compile that fails, or IMGB_NATIVE=0 (for comparing
 * the two). Only the main thread compiles (TinyCC is not known to be thread-safe): the part
 * worker (_parts.ts) is given the tar loop's address and calls it through `CFunction`.
 */
import { closeSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMainThread } from "node:worker_threads";
import { dlopenLibc } from "./_libc.ts";
import readDirSource from "./native/read_dir.c" with { type: "text" };
import tarRecordsSource from "./native/tar_records.c" with { type: "text" };

/** `read_dir` of native/read_dir.c (see there). */
export type ReadDir = (path: Uint8Array, names: Uint8Array, cap: number, meta: Float64Array, max: number, order: Int32Array, err: Int32Array) => number;

/** `tar_records` of native/tar_records.c (see there); `address` is the function's, for the worker. */
export interface NativeTar {
  records(out: Uint8Array, pos: number, blob: Uint8Array, meta: Float64Array, n: number, template: Uint8Array, templateSum: number, end: Int32Array): number;
  readonly address: number;
}

type Ffi = typeof import("bun:ffi");

/**
 * The native loops are compiled once a writer has written, or the walk has met, this many
 * entries (unless they already were): ~4-5 ms of TinyCC and ~2 MB of RSS, which a context of
 * fewer files would not win back (they save ~1 us per file each).
 */
export const NATIVE_AFTER = 4096;

const ARGS = ["ptr", "i32", "ptr", "ptr", "i32", "ptr", "i32", "ptr"] as const;
const READ_DIR_ARGS = ["ptr", "ptr", "i32", "ptr", "i32", "ptr", "ptr"] as const;

let loaded: NativeTar | null | undefined;
/** The main thread's directory reader (the walk runs there only). */
let readDir: ReadDir | null = null;
/** Why the last load gave none (for --debug). */
let why: string | undefined;

/** The native loop, or null where it cannot be had (see above): compiled on the first call. */
export function nativeTar(): NativeTar | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.IMGB_NATIVE === "0") why = "IMGB_NATIVE=0";
  else if (process.platform !== "linux") why = `not on ${process.platform}`;
  else if (!isMainThread) why = "not given to this thread";
  else loaded = compile();
  return loaded;
}

/** The native directory read (compiled with the tar loop), or null where there is none. */
export function nativeReadDir(): ReadDir | null {
  return nativeTar() === null ? null : readDir;
}

/** Whether this thread already compiled (or adopted) the native loop, or found it cannot have one. */
export function nativeTried(): boolean {
  return loaded !== undefined;
}

/** For --debug: whether this thread has the native loop, and if not, why. */
export function nativeStatus(): string {
  if (loaded === undefined) return "the native per-file loop was not needed";
  return loaded ? "the native per-file loop is compiled" : `no native per-file loop (${why ?? "unknown"})`;
}

/** The part worker's: use the main thread's compiled function at `address` (undefined: it has none). */
export function adoptNativeTar(address: number | undefined): void {
  if (address === undefined || process.env.IMGB_NATIVE === "0") {
    loaded = null;
    why = address === undefined ? "the main thread has none" : "IMGB_NATIVE=0";
    return;
  }
  try {
    const ffi = require("bun:ffi") as Ffi;
    const fn = ffi.CFunction({ ptr: address as unknown as import("bun:ffi").Pointer, args: [...ARGS], returns: "i32" });
    loaded = wrap(ffi, fn as unknown as Fn, address);
  } catch (e) {
    loaded = null;
    why = (e as Error).message;
  }
}

type Fn = (...args: unknown[]) => number;

function wrap(ffi: Ffi, fn: Fn, address: number): NativeTar {
  const { ptr } = ffi;
  // `| 0` on every i32: bun:ffi reads an i32 argument as an int-tagged value, and a number the
  // JIT keeps as a double (a position after arithmetic) reaches C wrong (seen: a chunk's
  // records written over its start once the caller was compiled by the DFG tier).
  return {
    address,
    records: (out, pos, blob, meta, n, template, templateSum, end) => fn(ptr(out), pos | 0, ptr(blob), ptr(meta), n | 0, ptr(template), templateSum | 0, ptr(end)),
  };
}

function compile(): NativeTar | null {
  let ffi: Ffi;
  try {
    ffi = require("bun:ffi") as Ffi;
  } catch {
    why = "no bun:ffi";
    return null;
  }
  if (typeof ffi.cc !== "function") {
    why = "no bun:ffi cc";
    return null;
  }
  const sources = sourceFiles(ffi);
  if (sources === undefined) return null;
  // Bun's cc writes the C headers it ships (stdarg.h, ...) to $TMPDIR/bun-cc-<uid> on every
  // compile, and leaves them; these sources include none. Removed again unless it was there
  // before (then another Bun made it, and rewrites it when it compiles). The TMPDIR is the one
  // Bun read at its start, which process.env may no longer say (a test's own): each candidate.
  const headers = [...new Set([tmpdir(), startupTmpdir(), "/tmp"])].map((dir) => join(dir, `bun-cc-${process.getuid?.() ?? 0}`)).filter((dir) => !existsSync(dir));
  try {
    // The libc functions the C code calls, by address (see tar_records.c: nothing is linked, so
    // no libc.so is looked for, which only a system with libc's development files has).
    const libcFns = dlopenLibc(() => Object.fromEntries([...TAR_LIBC, ...DIR_LIBC].map((name) => [name, { args: [], returns: "void" }])) as Record<string, import("bun:ffi").FFIFunction>);
    if (libcFns === undefined) throw new Error("libc cannot be loaded");
    const table = (names: readonly string[]) => new BigUint64Array(names.map((name) => BigInt(Number((libcFns.symbols[name] as unknown as { ptr: number }).ptr))));
    const lib = ffi.cc({
      source: sources.paths as unknown as string,
      flags: ["-nostdlib"],
      symbols: {
        tar_records: { args: [...ARGS], returns: "i32" },
        read_dir: { args: [...READ_DIR_ARGS], returns: "i32" },
        tar_records_init: { args: ["ptr"], returns: "i32" },
        read_dir_init: { args: ["ptr"], returns: "i32" },
      },
    });
    const tarTable = table(TAR_LIBC);
    const dirTable = table(DIR_LIBC);
    if (lib.symbols.tar_records_init(ffi.ptr(tarTable)) !== TAR_LIBC.length || lib.symbols.read_dir_init(ffi.ptr(dirTable)) !== DIR_LIBC.length) throw new Error("the sources' libc tables do not match");
    // Kept for the life of the process (the module holds it): the worker calls it by address.
    held = lib;
    const fn = lib.symbols.tar_records as unknown as Fn & { ptr: number };
    const rd = lib.symbols.read_dir as unknown as Fn;
    const { ptr } = ffi;
    readDir = (path, names, cap, meta, max, order, err) => rd(ptr(path), ptr(names), cap | 0, ptr(meta), max | 0, ptr(order), ptr(err));
    return wrap(ffi, fn, Number(fn.ptr));
  } catch (e) {
    why = `cannot compile it: ${(e as Error).message.split("\n").slice(0, 2).join(": ")}`;
    return null;
  } finally {
    sources.remove();
    for (const dir of headers) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The C sources as files TinyCC can read: memory files (memfd_create, read as /proc/self/fd/N:
 * nothing on disk, and it works in a read-only container), else files in a private temp
 * directory; `remove` once compiled. Undefined (and `why`) where neither can be made.
 */
function sourceFiles(ffi: Ffi): { paths: string[]; remove: () => void } | undefined {
  const texts = [tarRecordsSource, readDirSource];
  const lib = dlopenLibc(({ FFIType }) => ({ memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 } }));
  if (lib !== undefined && existsSync("/proc/self/fd")) {
    const fds: number[] = [];
    try {
      for (const text of texts) {
        const fd = lib.symbols.memfd_create(ffi.ptr(Buffer.from("imgb-native\0")), MFD_CLOEXEC);
        if (fd < 0) throw new Error("memfd_create failed");
        fds.push(fd);
        writeFileSync(fd, text);
      }
      return { paths: fds.map((fd) => `/proc/self/fd/${fd}`), remove: () => fds.forEach((fd) => closeSync(fd)) };
    } catch {
      for (const fd of fds) closeSync(fd);
    }
  }
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), "imgb-native-"));
    const paths = texts.map((text, i) => {
      const path = join(dir!, `source${i}.c`);
      writeFileSync(path, text);
      return path;
    });
    const made = dir;
    return { paths, remove: () => rmSync(made, { recursive: true, force: true }) };
  } catch (e) {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    why = `cannot write its source for the compiler: ${(e as Error).message.split("\n")[0]}`;
    return undefined;
  }
}
const MFD_CLOEXEC = 1;

let held: unknown;

/** TMPDIR as the process started with it (what Bun read; /tmp without one, or where it cannot be read). */
function startupTmpdir(): string {
  try {
    const env = readFileSync("/proc/self/environ", "utf8").split("\0");
    const entry = env.find((e) => e.startsWith("TMPDIR="));
    return entry !== undefined && entry.length > 7 ? entry.slice(7) : "/tmp";
  } catch {
    return "/tmp";
  }
}
/** The libc functions of tar_records_init and read_dir_init, in their order. */
const TAR_LIBC = ["open", "read", "close", "statx", "memcpy", "memset"] as const;
const DIR_LIBC = ["opendir", "readdir", "closedir", "dirfd", "statx", "strcmp", "strlen", "memcpy", "__errno_location"] as const;
