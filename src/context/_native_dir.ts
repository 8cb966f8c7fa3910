/**
 * Directories read for the walk by native/read_dir.c (issue #18): a directory's names in byte
 * order, each with its lstat, in one call (see there for what it saves). _walk_cursor.ts uses
 * it once the walk has met NATIVE_AFTER names (the compile is not worth it for fewer), or from
 * the start when the native loop is already compiled; where there is none, or a directory
 * cannot be read this way, it reads the directory itself as before.
 *
 * The buffers are per depth: the walk has one directory open at each depth of its stack, so
 * the listing of a directory stays valid until the walk leaves it (a sibling reuses them).
 */
import { NATIVE_AFTER, nativeReadDir, nativeTried, type ReadDir } from "./_native.ts";
import type { EntryStat } from "./_file_io.ts";
import { stayBelowFTL } from "./_tiers.ts";

/** Doubles per name (native/read_dir.c STAT). */
const STAT = 9;
const encoder = new TextEncoder();

/** The lstat of each name of a directory read natively, by index in its sorted names. */
export class Listing {
  constructor(
    private readonly meta: Float64Array,
    private readonly order: Int32Array,
  ) {}

  /** Fill `st` with name `k`'s lstat; false when it has none (the walk lstat()s the name itself). */
  stat(k: number, st: EntryStat & { mode: number }): boolean {
    const m = this.order[k]! * STAT;
    const mode = this.meta[m + 2]!;
    if (mode < 0) return false;
    st.mode = mode;
    st.nlink = this.meta[m + 3]!;
    st.ino = this.meta[m + 4]!;
    st.size = this.meta[m + 5]!;
    st.mtimeMs = this.meta[m + 6]!;
    st.ctimeMs = this.meta[m + 7]!;
    st.dev = this.meta[m + 8]!;
    return true;
  }
}

interface Pool {
  names: Buffer;
  meta: Float64Array;
  order: Int32Array;
}

export class NativeDirs {
  private readDir: ReadDir | null | undefined;
  private seen = 0;
  private readonly pools: Pool[] = [];
  private path = new Uint8Array(4096);
  private readonly err = new Int32Array(1);

  /** `after`: names met before the native loops are compiled, if they are not yet (tests: 0; Infinity: never used). */
  constructor(private readonly after = NATIVE_AFTER) {}

  /** Count names the walk met (for NATIVE_AFTER). */
  count(n: number): void {
    this.seen += n;
  }

  /**
   * The names of directory `path` (sorted in byte order) and their lstats, in the buffers of
   * `depth`; undefined where the walk reads it itself (no native loop yet or at all, a path
   * with a NUL, a directory that cannot be opened or read: the walk's own read reports it).
   */
  read(path: string, depth: number): { names: string[]; listing: Listing } | undefined {
    if (this.readDir === undefined) {
      if (this.after === Infinity || (this.seen < this.after && !nativeTried())) return undefined;
      this.readDir = nativeReadDir();
    }
    const readDir = this.readDir;
    if (readDir === null || path.includes("\0")) return undefined;
    if (path.length * 3 + 1 > this.path.length) this.path = new Uint8Array(path.length * 3 + 1);
    const { written } = encoder.encodeInto(path, this.path);
    this.path[written] = 0;
    const pool = (this.pools[depth] ??= { names: Buffer.allocUnsafe(16 << 10), meta: new Float64Array(256 * STAT), order: new Int32Array(512) });
    for (;;) {
      const max = pool.meta.length / STAT;
      const n = readDir(this.path, pool.names, pool.names.length, pool.meta, max, pool.order, this.err);
      if (n === -1) return undefined;
      if (n === -2) {
        // Too small: grown (the names' bytes so far are a lower bound), and read again.
        pool.names = Buffer.allocUnsafe(Math.max(pool.names.length * 2, this.err[0]! * 2));
        pool.meta = new Float64Array(max * 2 * STAT);
        pool.order = new Int32Array(max * 4);
        continue;
      }
      const { names: bytes, meta, order } = pool;
      const names = new Array<string>(n);
      for (let k = 0; k < n; k++) {
        const m = order[k]! * STAT;
        const at = meta[m]!;
        const name = bytes.toString("utf8", at, at + meta[m + 1]!);
        // Not valid UTF-8: the walk looks it up by this name, which fails, and says so.
        if (name.includes("\ufffd")) meta[m + 2] = -1;
        names[k] = name;
      }
      return { names, listing: new Listing(meta, order) };
    }
  }
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(Listing, NativeDirs);
