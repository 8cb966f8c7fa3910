/**
 * The directory walk of a build context: what BuildKit's client (tonistiigi/fsutil's filter
 * walk) would send. Names are visited in byte order per directory; an excluded directory is
 * entered only when an exception rule could re-include something below it, and it is emitted
 * (before its first included descendant) only if something below it is included.
 *
 * The walk uses synchronous syscalls on purpose: it is a tight readdir/lstat loop where the
 * per-call promise overhead of `fs.promises` would dominate, and it runs before any output.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { relative, resolve } from "node:path";
import { RuntimeError } from "../errors.ts";
import { GarbageBound } from "./_heap.ts";
import { EntryTable } from "./_table.ts";
import type { IgnoreMatcher, MatchInfo } from "./ignore.ts";

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

function kindOf(st: Stats): string {
  if (st.isSocket()) return "socket";
  if (st.isFIFO()) return "FIFO";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  return "special file";
}

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
 * only the excluded directories on the current path (`pending`).
 */
export function walkTable(root: string, options: WalkOptions = {}): EntryTable {
  const { matcher, onWarning } = options;
  const base = lookupBase(root);
  const out = new EntryTable(base);
  // Excluded directories we entered; emitted lazily when something below them is included.
  // Every directory on the current path, with its row once it is in the table (-1: not yet).
  const pending: { entry: Omit<WalkEntry, "source"> | undefined; emitted: boolean; row: number }[] = [];
  const gc = new GarbageBound(); // a dead Stats object per name (see _heap.ts)

  // Emit the excluded directories on the current path not sent yet (an entry below is included).
  let unsent = 0;
  const flush = () => {
    if (unsent === 0) return;
    unsent = 0;
    for (const p of pending) {
      if (!p.emitted) {
        p.row = out.length;
        out.push(p.entry!);
        p.emitted = true;
      }
    }
  };

  const visit = (dirAbs: string, dirRel: string, parentInfo: MatchInfo | undefined) => {
    let names: string[];
    try {
      names = readdirSync(dirAbs === "" ? "." : dirAbs);
    } catch (e) {
      throw ioError("read directory", dirAbs, e);
    }
    sortNames(names);
    for (const name of names) {
      // The path in the context as a string only for the ignore rules (the table copies bytes).
      const rel = matcher === undefined ? undefined : childPath(dirRel, name);
      const abs = dirAbs === "" ? name : `${dirAbs}/${name}`;
      gc.tick();
      let st: Stats;
      try {
        st = lstatSync(abs);
      } catch (e) {
        // A name that is not valid UTF-8 comes back from readdir with U+FFFD and cannot be
        // opened again: fail loudly rather than drop the file.
        if (name.includes("\ufffd")) throw new RuntimeError("context.bad-name", `Cannot send "${resolve(abs)}": its name is not valid UTF-8`, { cause: e });
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // vanished before we looked: like fsutil
        throw ioError("inspect", abs, e);
      }
      const isDir = st.isDirectory();
      let excluded = false;
      let info: MatchInfo | undefined;
      if (matcher) {
        const m = matcher.matchWithParents(rel!, parentInfo);
        excluded = m.excluded;
        info = m.info;
        if (excluded && (!isDir || matcher.canSkipDirectory(rel!))) continue;
      }
      const isLink = !isDir && st.isSymbolicLink();
      if (!isDir && !isLink && !st.isFile()) {
        if (!excluded) onWarning?.(`Skipping ${kindOf(st)} "${childPath(dirRel, name)}": only files, directories and symlinks are sent`);
        continue;
      }
      if (excluded) {
        // Only directories get here: entered for an exception rule below them.
        const entry = { path: rel!, type: "dir" as const, mode: st.mode & 0o7777, size: 0, dev: st.dev, ino: st.ino, nlink: st.nlink };
        // Docker 20.10's walker sends an excluded directory it enters, even if nothing below
        // it is re-included.
        const legacy = matcher?.dialect === "legacy";
        const p = { entry, emitted: legacy, row: -1 };
        if (legacy) {
          flush();
          p.row = out.length;
          out.push(entry);
        } else unsent++;
        pending.push(p);
        visit(abs, rel!, info);
        if (!pending.pop()!.emitted) unsent--;
        continue;
      }
      // The common case, straight into the table (no entry object).
      flush();
      const parent = pending.length === 0 ? -1 : pending[pending.length - 1]!.row;
      const mode = st.mode & 0o7777;
      if (isDir) {
        const row = out.length;
        out.pushChild(parent, name, "dir", mode, 0, st.dev, st.ino, st.nlink);
        pending.push({ entry: undefined, emitted: true, row });
        visit(abs, rel ?? childPath(dirRel, name), info);
        pending.pop();
      } else if (isLink) out.pushChild(parent, name, "symlink", mode, 0, st.dev, st.ino, st.nlink, undefined, undefined, readlinkSync(abs, "utf8"));
      else out.pushChild(parent, name, "file", mode, st.size, st.dev, st.ino, st.nlink, st.mtimeMs, st.ctimeMs);
    }
  };

  visit(base, "", undefined);
  return out;
}

/** `name` inside the directory `dir` ("" at the top). */
function childPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
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
