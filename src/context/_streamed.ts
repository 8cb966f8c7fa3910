/**
 * The one-shot archive write's entries (issue #18): the walk runs while the tar writer writes,
 * a window of rows at a time, so memory stays the same whatever the number of files (the
 * snapshot path keeps a table of every entry: ~44 bytes plus its path each, and the walk's
 * garbage on top, 112 MB of peak RSS at 1,000,000 files).
 *
 * What build_context.ts does to a whole walk is done here window by window, in archive order:
 * always-included paths are sent by the cursor at their place (_walk_cursor.ts); hard links are
 * marked (the first path of each dev:ino, for files with two links or more, is kept); and every
 * entry's parent must be a directory sent before it. Output is byte-identical to the snapshot
 * path's (test/context/streamed.test.ts).
 */
import { RuntimeError } from "../errors.ts";
import { EntryTable, type TableEntry } from "./_table.ts";
import type { EntrySource, NativeRows } from "./tar.ts";
import type { WalkCursor } from "./_walk_cursor.ts";
import { stayBelowFTL } from "./_tiers.ts";

/** Rows and path bytes per window: an entry table chunk (~180 KiB) and one 256 KiB block. */
const WINDOW_ROWS = 4096;
const WINDOW_BYTES = 192 << 10;
const BLOCK_BYTES = 256 << 10;

export class StreamedEntries implements EntrySource<TableEntry>, NativeRows {
  private readonly window: EntryTable;
  /** Index of the window's first row in the archive's entries. */
  private start = 0;
  private more = true;
  private readonly firstByInode = new Map<string, string>();
  private readonly guard = new ParentGuard();

  /** `cwd`: the working directory the cursor's relative paths were made against. */
  constructor(
    private readonly cursor: WalkCursor,
    private readonly cwd: string,
    private readonly rows = WINDOW_ROWS,
    private readonly bytes = WINDOW_BYTES,
  ) {
    this.window = new EntryTable(cursor.base, rows, Math.max(BLOCK_BYTES, bytes));
  }

  /** Entry `index`; reading on walks further, and the entries before the window are gone. */
  at(index: number): TableEntry | undefined {
    while (index >= this.start + this.window.length) {
      if (!this.more) return undefined;
      this.refill();
    }
    if (index < this.start) throw new RangeError(`Entry ${index} of a streamed walk was already dropped: read the entries in order`);
    return this.window.at(index - this.start);
  }

  /**
   * The window's row `index` for the tar writer's native loop (EntryTable `nativeRow`); the
   * walk reads on to it only when `load` (the first row of a run: no entry before it is needed
   * again), else -2 past the window.
   */
  nativeRow(index: number, load: boolean, meta: Float64Array, m: number, blob: Uint8Array, at: number): number {
    while (index >= this.start + this.window.length) {
      if (!load || !this.more) return -2;
      this.refill();
    }
    if (index < this.start) throw new RangeError(`Entry ${index} of a streamed walk was already dropped: read the entries in order`);
    return this.window.nativeRow(index - this.start, false, meta, m, blob, at);
  }

  private refill(): void {
    // The walk's paths are relative to the working directory it started in (walk.ts `lookupBase`).
    if (this.cursor.base !== "" && !this.cursor.base.startsWith("/") && process.cwd() !== this.cwd) {
      throw new RuntimeError("context.cwd-changed", `The working directory changed from "${this.cwd}" to "${process.cwd()}" while the build context was being walked`);
    }
    const w = this.window;
    this.start += w.length;
    w.clear();
    this.more = this.cursor.fill(w, this.rows, this.bytes);
    this.guard.check(w);
    for (let i = 0; i < w.length; i++) {
      if (w.type(i) !== "file" || w.nlink(i) < 2) continue;
      const key = w.inode(i);
      const first = this.firstByInode.get(key);
      if (first === undefined) this.firstByInode.set(key, w.path(i));
      else w.makeHardlink(i, first);
    }
  }
}

/**
 * Every entry's parent is a directory entry sent before it (build_context.ts
 * `assertNothingBelowLinks`, online): the directories on the path of the last entry are kept
 * as bytes, one copy per directory.
 */
class ParentGuard {
  private readonly dirs: Uint8Array[] = [];
  /** The last entry of the previous window, which an entry below it would follow directly. */
  private last: { path: string; type: string } | undefined;

  check(w: EntryTable): void {
    const dirs = this.dirs;
    for (let i = 0; i < w.length; i++) {
      const slash = w.parentLength(i);
      if (slash < 0) dirs.length = 0;
      else {
        while (dirs.length > 0 && !(dirs[dirs.length - 1]!.length === slash && w.startsWithBytes(i, dirs[dirs.length - 1]!))) dirs.pop();
        if (dirs.length === 0) this.fail(w, i, slash);
      }
      if (w.type(i) === "dir") dirs.push(w.pathBytes(i));
    }
    if (w.length > 0) this.last = { path: w.path(w.length - 1), type: w.type(w.length - 1) };
  }

  /** The snapshot path's message: the parent is the entry just before (a non-directory) or missing. */
  private fail(w: EntryTable, i: number, slash: number): never {
    const path = w.path(i);
    const parentPath = new TextDecoder().decode(w.pathBytes(i).subarray(0, slash));
    const before = i > 0 ? { path: w.path(i - 1), type: w.type(i - 1) } : this.last;
    const type = before?.path === parentPath ? before.type : undefined;
    throw new RuntimeError("context.below-link", `Refusing to send "${path}": its parent "${parentPath}" is ${type ? `a ${type}` : "missing"} in the build context, not a directory`);
  }
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(StreamedEntries, ParentGuard);
