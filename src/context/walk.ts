/**
 * The directory walk of a build context: what BuildKit's client (tonistiigi/fsutil's filter
 * walk) would send. Names are visited in byte order per directory; an excluded directory is
 * entered only when an exception rule could re-include something below it, and it is emitted
 * (before its first included descendant) only if something below it is included.
 *
 * The walk uses synchronous syscalls on purpose: it is a tight readdir/lstat loop where the
 * per-call promise overhead of `fs.promises` would dominate, and it runs before any output (or,
 * for a one-shot archive write, between chunks of it: _streamed.ts). The loop itself is the
 * resumable cursor of _walk_cursor.ts.
 */
import { readlinkSync, type Stats } from "node:fs";
import { relative, resolve } from "node:path";
import { RuntimeError } from "../errors.ts";
import { EntryTable } from "./_table.ts";
import { WalkCursor } from "./_walk_cursor.ts";
import type { IgnoreMatcher } from "./ignore.ts";
import { stayBelowFTL } from "./_tiers.ts";

export type EntryType = "file" | "dir" | "symlink";

/** One thing found on disk (before hard-link detection). */
export interface WalkEntry {
  /** POSIX path relative to the root, no trailing slash. */
  path: string;
  type: EntryType;
  /** Permission bits only (incl. setuid/setgid/sticky). */
  mode: number;
  size: number;
  linkTarget?: string;
  /**
   * Path on disk: relative to the working directory when the root is inside it (see
   * `lookupBase`), else absolute. `resolve()` it for messages and the public API.
   */
  source: string;
  dev: number;
  ino: number;
  nlink: number;
  /** Regular files: when they were last written and changed, to prove later they were not since. */
  mtimeMs?: number;
  ctimeMs?: number;
}

export interface WalkOptions {
  matcher?: IgnoreMatcher;
  onWarning?: (message: string) => void;
  /**
   * The archive being written, when it is a regular file (device and inode): never sent, with a
   * warning, as GNU tar does ("file is the archive; not dumped"): `imgb context . -o ctx.tar`
   * would otherwise put its own temp file, empty or half-written, into itself.
   */
  archive?: { dev: number; ino: number };
}

/** Compare two strings in UTF-8 byte order (what Go's sort and GNU tar --sort=name use). */
export function compareUtf8(a: string, b: string, from = 0): number {
  const n = Math.min(a.length, b.length);
  for (let i = from; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 orders surrogates (U+10000+) below U+E000..U+FFFF; UTF-8 orders them above.
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Depth-first order: a directory, then its contents, siblings by name (`/` sorts lowest). */
export function comparePaths(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x === 0x2f) return -1;
      if (y === 0x2f) return 1;
      return compareUtf8(a, b, i);
    }
  }
  return a.length - b.length;
}

/** Turn an lstat result into a WalkEntry, or undefined for sockets, devices and FIFOs. */
export function statEntry(path: string, source: string, st: Stats): WalkEntry | undefined {
  // Object literals, not spreads: this runs once per file of the context.
  const mode = st.mode & 0o7777;
  if (st.isFile()) return { path, source, type: "file", mode, size: st.size, dev: st.dev, ino: st.ino, nlink: st.nlink, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
  if (st.isDirectory()) return { path, source, type: "dir", mode, size: 0, dev: st.dev, ino: st.ino, nlink: st.nlink };
  if (st.isSymbolicLink()) {
    return { path, source, type: "symlink", mode, size: 0, dev: st.dev, ino: st.ino, nlink: st.nlink, linkTarget: readlinkSync(source, "utf8") };
  }
  return undefined;
}

/** Sort names in UTF-8 byte order; the default UTF-16 sort agrees unless a name has chars >= U+D800. */
export function sortNames(names: string[]): string[] {
  return names.some((n) => HIGH.test(n)) ? names.sort(compareUtf8) : names.sort();
}
const HIGH = /[\ud800-\uffff]/;

/**
 * The prefix used for syscalls on files under `root`: its path relative to the working
 * directory when it lies inside it ("" for the directory itself), else `root`. Every lstat and
 * open walks its path component by component in the kernel; for the usual `imgb context .`
 * that makes "pkg/mod/file" instead of "/home/me/src/project/pkg/mod/file", about a quarter of
 * the system time of a many-small-files context (what GNU tar gets from openat).
 */
export function lookupBase(root: string, cwd = process.cwd()): string {
  const rel = relative(cwd, root);
  return rel === "" ? "" : rel === ".." || rel.startsWith("../") || rel.startsWith("/") ? root : rel;
}

/** Walk `root` and return the included entries in depth-first, byte-sorted order. */
export function walkContext(root: string, options: WalkOptions = {}): WalkEntry[] {
  return walkTable(root, options).toArray() as WalkEntry[];
}

/**
 * `walkContext` into a compact table (see _table.ts): no object per entry survives the walk,
 * only the directories on the current path (_walk_cursor.ts).
 */
export function walkTable(root: string, options: WalkOptions = {}): EntryTable {
  const cursor = new WalkCursor(root, options);
  const out = new EntryTable(cursor.base);
  cursor.fill(out);
  return out;
}

/** A RuntimeError naming the file, with the errno reason ("ENOENT: no such file or directory"). */
export function ioError(action: string, path: string, e: unknown): RuntimeError {
  return new RuntimeError("context.io", `Cannot ${action} "${resolve(path)}": ${errnoReason(e)}`, { cause: e });
}

/** "ENOENT: no such file or directory", without the syscall and path Node appends. */
export function errnoReason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}: ${(err.message ?? "").replace(/^[A-Z]+: /, "").replace(/, \w+( '.*')?$/, "")}` : String(e);
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(compareUtf8, comparePaths, statEntry, sortNames);
