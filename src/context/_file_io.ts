/**
 * How a context's files are looked at (the walk's lstat) and read (the tar writer's open, read,
 * fstat, close): through libc directly (bun:ffi) where it can be loaded, else through node:fs
 * (issue #18).
 *
 * Why: a file of a context costs lstat, open, read, fstat and close, and node:fs's bindings add
 * their own work to each (arguments checked and converted, a Stats object per stat, to be
 * collected). Measured on the 40,000-file tree, in a loop: lstat node:fs 92 ms, libc 70; open,
 * fstat, read, close node:fs 250-330 ms, libc 218-242.
 *
 * Only success takes the fast path: when a libc call fails, the same operation is done again
 * through node:fs, which throws its usual error (code, message) or, if the cause went away,
 * succeeds. Nothing has moved in between: a failed open made no descriptor, a failed read read
 * nothing (the offset is where it was), a failed statx changed nothing.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from "node:fs";
import { dlopenLibc } from "./_libc.ts";
import { stayBelowFTL } from "./_tiers.ts";

/** What `identity` reports of an open file (one object, rewritten by every call). */
export interface FileIdentity {
  size: number;
  ino: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** What the walk needs of an lstat: node:fs's Stats has it all. */
export interface EntryStat extends FileIdentity {
  mode: number;
  dev: number;
  nlink: number;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isSocket(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}

const S_IFMT = 0o170000;

/** An EntryStat from its fields (the libc reader's, the native walk's; `copyStat` for one that must outlive the next call). */
export class StatFields implements EntryStat {
  mode = 0;
  size = 0;
  dev = 0;
  ino = 0;
  nlink = 0;
  mtimeMs = 0;
  ctimeMs = 0;
  isFile(): boolean {
    return (this.mode & S_IFMT) === 0o100000;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === 0o040000;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === 0o120000;
  }
  isSocket(): boolean {
    return (this.mode & S_IFMT) === 0o140000;
  }
  isFIFO(): boolean {
    return (this.mode & S_IFMT) === 0o010000;
  }
  isCharacterDevice(): boolean {
    return (this.mode & S_IFMT) === 0o020000;
  }
  isBlockDevice(): boolean {
    return (this.mode & S_IFMT) === 0o060000;
  }
}

/** A copy of `st` that no later call rewrites. */
export function copyStat(st: EntryStat): EntryStat {
  const c = new StatFields();
  c.mode = st.mode;
  c.size = st.size;
  c.dev = st.dev;
  c.ino = st.ino;
  c.nlink = st.nlink;
  c.mtimeMs = st.mtimeMs;
  c.ctimeMs = st.ctimeMs;
  return c;
}

export interface FileReader {
  /** `path` itself, not what a symlink points to (throws as lstatSync does). Valid until the next call: see copyStat. */
  lstat(path: string): EntryStat;
  /** A read-only descriptor of `path` (throws as openSync does). */
  open(path: string): number;
  /** Read up to `length` bytes at the file's offset into `buf` at `offset` (throws as readSync does). */
  read(fd: number, buf: Uint8Array, offset: number, length: number): number;
  /** Size, inode and times of `fd` (throws as fstatSync does). Valid until the next call. */
  identity(fd: number): FileIdentity;
  close(fd: number): void;
  /** `path`'s lstat as a content-hash cache key, nanosecond times (throws as lstatSync does). A new object. */
  stamp(path: string): FileStamp;
}

/** What a content hash is cached under (src/orchestrate/context_digest.ts): times in ns, as decimal strings (node:fs's bigint Stats). */
export interface FileStamp {
  dev: number;
  ino: number;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
}

function nodeStamp(path: string): FileStamp {
  const st = lstatSync(path, { bigint: true });
  return { dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

/** The node:fs reader: what every runtime has. */
export const nodeReader: FileReader = {
  lstat: (path) => lstatSync(path),
  open: (path) => openSync(path, constants.O_RDONLY),
  read: (fd, buf, offset, length) => readSync(fd, buf, offset, length, null),
  identity: (fd) => fstatSync(fd),
  close: (fd) => closeSync(fd),
  stamp: nodeStamp,
};

let loaded: FileReader | undefined;

/** The libc reader where it loads (Linux, glibc or musl with statx), else the node:fs one. */
export function fileReader(): FileReader {
  loaded ??= libcReader() ?? nodeReader;
  return loaded;
}

const O_CLOEXEC = 0o2000000;
const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_BASIC_STATS = 0x7ff;

/** Exported for tests: the libc reader, or undefined where libc or one of its calls cannot be loaded. */
export function libcReader(): FileReader | undefined {
  const lib = dlopenLibc(({ FFIType }) => ({
    open: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    read: { args: [FFIType.i32, FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    statx: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.u32, FFIType.ptr], returns: FFIType.i32 },
  }));
  if (lib === undefined) return undefined;
  const { ptr } = lib.ffi;
  const { open, read, close, statx } = lib.symbols;
  const encoder = new TextEncoder();
  let cpath = new Uint8Array(4096);
  const empty = new Uint8Array(1);
  // struct statx: nlink u32 @16, mode u16 @28, ino u64 @32, size u64 @40, ctime {i64 sec @96,
  // u32 nsec @104}, mtime {@112, @120}, dev_major u32 @136, dev_minor @140.
  const sx = new Uint8Array(256);
  const view = new DataView(sx.buffer);
  const id: FileIdentity = { size: 0, ino: 0, mtimeMs: 0, ctimeMs: 0 };
  const st = new StatFields();
  const flags = constants.O_RDONLY | O_CLOEXEC;
  /** `path` as UTF-8 and a NUL in `cpath` (false: a NUL in it, which no file has: node:fs refuses it). */
  const encode = (path: string): boolean => {
    if (path.length * 3 + 1 > cpath.length) cpath = new Uint8Array(path.length * 3 + 1);
    const { written } = encoder.encodeInto(path, cpath);
    cpath[written] = 0;
    return !path.includes("\0");
  };
  // 64-bit fields as two 32-bit halves: the same double as Number(getBigUint64()) (the exact sum,
  // rounded once), without a BigInt per field (8 per file: garbage the collector had to sweep).
  const u64 = (at: number) => view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
  const i64 = (at: number) => view.getInt32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
  // The same arithmetic as node:fs's Stats (checked against lstatSync and fstatSync in the tests).
  const ms = (at: number) => i64(at) * 1000 + view.getUint32(at + 8, true) / 1e6;
  // sec * 1e9 + nsec in decimal, as String(bigint) prints it; undefined before 1970 (node:fs does those).
  const ns = (at: number): string | undefined => {
    const sec = i64(at);
    const nsec = view.getUint32(at + 8, true);
    if (sec < 0 || !Number.isSafeInteger(sec)) return undefined;
    return sec === 0 ? String(nsec) : `${sec}${String(nsec).padStart(9, "0")}`;
  };
  // glibc's makedev, as node:fs's dev.
  const dev = () => {
    const major = view.getUint32(136, true);
    const minor = view.getUint32(140, true);
    return (major & 0xfffff000) * 2 ** 32 + (major & 0xfff) * 256 + (minor & 0xffffff00) * 4096 + (minor & 0xff);
  };
  const reader: FileReader = {
    lstat(path) {
      if (!encode(path) || statx(AT_FDCWD, ptr(cpath), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, ptr(sx)) !== 0) return lstatSync(path);
      st.mode = view.getUint16(28, true);
      st.nlink = view.getUint32(16, true);
      st.ino = u64(32);
      st.size = u64(40);
      st.ctimeMs = ms(96);
      st.mtimeMs = ms(112);
      st.dev = dev();
      return st;
    },
    stamp(path) {
      if (!encode(path) || statx(AT_FDCWD, ptr(cpath), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, ptr(sx)) !== 0) return nodeStamp(path);
      const mtimeNs = ns(112);
      const ctimeNs = ns(96);
      if (mtimeNs === undefined || ctimeNs === undefined) return nodeStamp(path);
      return { dev: dev(), ino: u64(32), size: u64(40), mtimeNs, ctimeNs };
    },
    open(path) {
      const fd = encode(path) ? open(ptr(cpath), flags) : -1;
      return fd >= 0 ? fd : openSync(path, constants.O_RDONLY);
    },
    read(fd, buf, offset, length) {
      if (length === 0) return 0;
      const n = Number(read(fd, ptr(buf, offset), length));
      return n >= 0 ? n : readSync(fd, buf, offset, length, null);
    },
    identity(fd) {
      if (statx(fd, ptr(empty), AT_EMPTY_PATH, STATX_BASIC_STATS, ptr(sx)) !== 0) return fstatSync(fd);
      id.ino = u64(32);
      id.size = u64(40);
      id.ctimeMs = ms(96);
      id.mtimeMs = ms(112);
      return id;
    },
    close(fd) {
      // Not retried on failure: the descriptor is released either way (and may already be
      // another file's); a read-only file loses nothing to a failed close.
      close(fd);
    },
  };
  stayBelowFTL(...Object.values(reader), encode, u64, i64, ms, ns, dev);
  return reader;
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(StatFields, copyStat, nodeStamp, ...Object.values(nodeReader));
