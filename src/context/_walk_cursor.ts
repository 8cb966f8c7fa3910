/**
 * The walk of walk.ts as a resumable cursor: a stack of open directories, each with its sorted
 * names and how far it got, so the entries can be taken a window at a time (the one-shot
 * archive write, _streamed.ts) or all at once (`walkTable`). One implementation for both is
 * what keeps their order, exclusions and warnings the same.
 *
 * Always-included paths (`forced`: the Dockerfile and the ignore file) are what
 * build_context.ts `forceInclude` adds after a whole walk, added here at their place in the
 * walk instead: an excluded path that is one of them, or a directory on the way to one, is
 * sent anyway (a way that meets a file or a symlink stops there), and a directory the walk
 * would skip is entered for them alone, without reading it.
 */
import { readdirSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";
import { RuntimeError } from "../errors.ts";
import { copyStat, fileReader, StatFields, type EntryStat, type FileReader } from "./_file_io.ts";
import { NativeDirs, type Listing } from "./_native_dir.ts";
import { GarbageBound } from "./_heap.ts";
import type { EntryTable } from "./_table.ts";
import type { IgnoreMatcher, MatchInfo } from "./ignore.ts";
import { ioError, lookupBase, sortNames, type WalkOptions } from "./walk.ts";
import { stayBelowFTL } from "./_tiers.ts";

const encoder = new TextEncoder();

interface Frame {
  /** The directory for syscalls ("" is the lookup base itself), its path in the context ("" at the top) and that path as UTF-8. */
  abs: string;
  rel: string;
  bytes: Uint8Array | undefined;
  info: MatchInfo | undefined;
  names: string[];
  /** The names' lstats, where the directory was read natively (_native_dir.ts). */
  listing: Listing | undefined;
  next: number;
  /** An excluded directory entered for exception rules below it: sent before the first entry below it that is. */
  stat: EntryStat | undefined;
  emitted: boolean;
  /** Entered only for always-included paths below it (the walk itself skips it): `names` are theirs. */
  forcedOnly: boolean;
}

/** Paths sent even when excluded, and the directories on the way to them. */
class Forced {
  private readonly finals = new Set<string>();
  /** Directory on the way -> the names below it on the way (sorted). */
  private readonly ways = new Map<string, string[]>();

  constructor(paths: readonly string[]) {
    for (const path of paths) {
      this.finals.add(path);
      const parts = path.split("/");
      for (let i = 0; i < parts.length; i++) {
        const dir = parts.slice(0, i).join("/");
        const names = this.ways.get(dir) ?? [];
        if (!names.includes(parts[i]!)) names.push(parts[i]!);
        this.ways.set(dir, sortNames(names));
      }
    }
  }

  has(path: string): boolean {
    return this.finals.has(path) || this.ways.has(path);
  }

  /** Whether `path` is a directory on the way to a forced path. */
  isWay(path: string): boolean {
    return this.ways.has(path);
  }

  namesIn(dir: string): string[] {
    return [...(this.ways.get(dir) ?? [])];
  }
}

export interface CursorOptions extends WalkOptions {
  /** Clean relative paths sent even when the ignore rules exclude them. */
  forced?: readonly string[];
  /** Names met before directories are read natively (_native_dir.ts; tests: 0, or Infinity for never). */
  nativeAfter?: number;
}

export class WalkCursor {
  /** The prefix syscalls use for the root (see walk.ts `lookupBase`); table rows are relative to it. */
  readonly base: string;
  private readonly matcher: IgnoreMatcher | undefined;
  private readonly onWarning: ((message: string) => void) | undefined;
  private readonly forced: Forced | undefined;
  private readonly archive: { dev: number; ino: number } | undefined;
  private readonly legacy: boolean;
  private readonly stack: Frame[] = [];
  /** Excluded directories on the stack not sent yet. */
  private unsent = 0;
  private readonly gc = new GarbageBound(); // a dead Stats object per name where node:fs does the lstat (see _heap.ts)
  private readonly io: FileReader = fileReader();
  private readonly dirs: NativeDirs;
  /** A name's lstat from its directory's native listing (rewritten for every name). */
  private readonly listed = new StatFields();

  /** Reads the root directory (its errors are thrown here, before any entry). */
  constructor(root: string, options: CursorOptions = {}) {
    this.base = lookupBase(root);
    this.matcher = options.matcher;
    this.onWarning = options.onWarning;
    this.legacy = options.matcher?.dialect === "legacy";
    this.archive = options.archive;
    this.dirs = new NativeDirs(options.nativeAfter);
    this.forced = options.forced !== undefined && options.forced.length > 0 ? new Forced(options.forced) : undefined;
    this.enter(this.base, "", undefined, undefined, undefined, true, false);
  }

  /**
   * Append the next entries to `out` until it holds `maxRows` rows or `maxBytes` path bytes (a
   * few more: excluded directories are sent with the entry below them). False at the end.
   */
  fill(out: EntryTable, maxRows = Infinity, maxBytes = Infinity): boolean {
    const stack = this.stack;
    while (stack.length > 0) {
      if (out.length >= maxRows || out.byteLength >= maxBytes) return true;
      const f = stack[stack.length - 1]!;
      if (f.next === f.names.length) {
        stack.pop();
        if (!f.emitted) this.unsent--;
        continue;
      }
      const name = f.names[f.next++]!;
      if (f.forcedOnly) this.forcedName(out, f, name);
      else this.name(out, f, name);
    }
    return false;
  }

  private name(out: EntryTable, f: Frame, name: string): void {
    const matcher = this.matcher;
    // The path in the context as a string only for the ignore rules (the table copies bytes).
    const rel = matcher === undefined ? undefined : childPath(f.rel, name);
    const abs = f.abs === "" ? name : `${f.abs}/${name}`;
    this.gc.tick();
    let st: EntryStat;
    // A directory is looked at again when the walk gets to it, as without a listing: one removed
    // since its parent was read is then absent, not an error of reading it.
    if (f.listing !== undefined && f.listing.stat(f.next - 1, this.listed) && !this.listed.isDirectory()) st = this.listed;
    else try {
      st = this.io.lstat(abs);
    } catch (e) {
      // A name that is not valid UTF-8 comes back from readdir with U+FFFD and cannot be
      // opened again: fail loudly rather than drop the file.
      if (name.includes("\ufffd")) throw new RuntimeError("context.bad-name", `Cannot send "${resolve(abs)}": its name is not valid UTF-8`, { cause: e });
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // vanished before we looked: like fsutil
      throw ioError("inspect", abs, e);
    }
    const isDir = st.isDirectory();
    let excluded = false;
    let info: MatchInfo | undefined;
    if (matcher) {
      const m = matcher.matchWithParents(rel!, f.info);
      excluded = m.excluded;
      info = m.info;
      if (excluded && this.forced?.has(rel!)) return this.forcedEntry(out, f, name, rel!, abs, st, info);
      if (excluded && (!isDir || matcher.canSkipDirectory(rel!))) return;
    }
    const isLink = !isDir && st.isSymbolicLink();
    if (!isDir && !isLink && !st.isFile()) {
      if (!excluded) this.onWarning?.(`Skipping ${kindOf(st)} "${childPath(f.rel, name)}": only files, directories and symlinks are sent`);
      return;
    }
    if (excluded) {
      // Only directories get here: entered for an exception rule below them. Docker 20.10's
      // walker sends an excluded directory it enters, even if nothing below it is re-included.
      if (this.legacy) {
        this.flush(out);
        out.pushIn(f.bytes, name, "dir", st.mode & 0o7777, 0, st.dev, st.ino, st.nlink);
      } else this.unsent++;
      this.enter(abs, rel!, info, copyStat(st), undefined, this.legacy, false);
      return;
    }
    if (!isDir && !isLink && this.isArchive(st, f, name)) return;
    // The common case, straight into the table (no entry object).
    this.flush(out);
    const mode = st.mode & 0o7777;
    if (isDir) {
      out.pushIn(f.bytes, name, "dir", mode, 0, st.dev, st.ino, st.nlink);
      this.enter(abs, rel ?? childPath(f.rel, name), info, undefined, undefined, true, false);
    } else if (isLink) out.pushIn(f.bytes, name, "symlink", mode, 0, st.dev, st.ino, st.nlink, undefined, undefined, readlinkSync(abs, "utf8"));
    else out.pushIn(f.bytes, name, "file", mode, st.size, st.dev, st.ino, st.nlink, st.mtimeMs, st.ctimeMs);
  }

  /** An excluded name that is always included, or on the way to one. */
  private forcedEntry(out: EntryTable, f: Frame, name: string, rel: string, abs: string, st: EntryStat, info: MatchInfo): void {
    const isDir = st.isDirectory();
    if (!this.pushForced(out, f, name, rel, abs, st)) return;
    if (!isDir) return;
    // Entered as the walk would (for an exception rule below it), or only for the forced paths.
    if (!this.matcher!.canSkipDirectory(rel)) this.enter(abs, rel, info, undefined, undefined, true, false);
    else if (this.forced!.isWay(rel)) this.enter(abs, rel, info, undefined, this.forced!.namesIn(rel), true, true);
  }

  /** A name of a directory entered only for forced paths: looked up, never read from the directory. */
  private forcedName(out: EntryTable, f: Frame, name: string): void {
    const rel = childPath(f.rel, name);
    const abs = f.abs === "" ? name : `${f.abs}/${name}`;
    let st: EntryStat;
    try {
      st = this.io.lstat(abs);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw ioError("inspect", abs, e);
    }
    if (this.pushForced(out, f, name, rel, abs, st) && st.isDirectory() && this.forced!.isWay(rel)) this.enter(abs, rel, undefined, undefined, this.forced!.namesIn(rel), true, true);
  }

  /** Send a forced entry (false: nothing sent, as for a socket, or a file where the way needs a directory). */
  private pushForced(out: EntryTable, f: Frame, name: string, rel: string, abs: string, st: EntryStat): boolean {
    const mode = st.mode & 0o7777;
    const isDir = st.isDirectory();
    if (this.forced!.isWay(rel) && !isDir) return false;
    if (!isDir && !st.isSymbolicLink() && !st.isFile()) return false;
    if (st.isFile() && this.isArchive(st, f, name)) return false;
    this.flush(out);
    if (isDir) out.pushIn(f.bytes, name, "dir", mode, 0, st.dev, st.ino, st.nlink);
    else if (st.isSymbolicLink()) out.pushIn(f.bytes, name, "symlink", mode, 0, st.dev, st.ino, st.nlink, undefined, undefined, readlinkSync(abs, "utf8"));
    else out.pushIn(f.bytes, name, "file", mode, st.size, st.dev, st.ino, st.nlink, st.mtimeMs, st.ctimeMs);
    return true;
  }

  /** Is this file the archive being written (WalkOptions.archive)? Then it is skipped, with a warning. */
  private isArchive(st: EntryStat, f: Frame, name: string): boolean {
    const a = this.archive;
    if (a === undefined || st.ino !== a.ino || st.dev !== a.dev) return false;
    this.onWarning?.(`Skipping "${childPath(f.rel, name)}": it is the archive being written (inside its own context)`);
    return true;
  }

  /** Open a directory: its names (read now unless given), on top of the stack. */
  private enter(abs: string, rel: string, info: MatchInfo | undefined, stat: EntryStat | undefined, names: string[] | undefined, emitted: boolean, forcedOnly: boolean): void {
    let listing: Listing | undefined;
    if (names === undefined) {
      const read = this.dirs.read(abs === "" ? "." : abs, this.stack.length);
      if (read !== undefined) ({ names, listing } = read);
      else {
        try {
          names = readdirSync(abs === "" ? "." : abs);
        } catch (e) {
          throw ioError("read directory", abs, e);
        }
        sortNames(names);
      }
      this.dirs.count(names.length);
    }
    const bytes = rel === "" ? undefined : encoder.encode(rel);
    this.stack.push({ abs, rel, bytes, info, names, listing, next: 0, stat, emitted, forcedOnly });
  }

  /** Send the excluded directories on the stack not sent yet (an entry below them is about to be). */
  private flush(out: EntryTable): void {
    if (this.unsent === 0) return;
    this.unsent = 0;
    const stack = this.stack;
    for (let i = 0; i < stack.length; i++) {
      const p = stack[i]!;
      if (p.emitted) continue;
      const st = p.stat!;
      const parent = i === 0 ? undefined : stack[i - 1]!.bytes;
      out.pushIn(parent, p.rel.slice(p.rel.lastIndexOf("/") + 1), "dir", st.mode & 0o7777, 0, st.dev, st.ino, st.nlink);
      p.emitted = true;
      p.stat = undefined;
    }
  }
}

/** `name` inside the directory `dir` ("" at the top). */
function childPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

function kindOf(st: EntryStat): string {
  if (st.isSocket()) return "socket";
  if (st.isFIFO()) return "FIFO";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  return "special file";
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(WalkCursor, Forced, childPath, kindOf);
