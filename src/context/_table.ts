/**
 * The walk's entries as one compact table: parallel typed arrays and the paths packed as UTF-8
 * bytes, instead of one JS object (and one path string) per file. Issue #18: at 200,000 files
 * the objects alone were ~60 MB of the peak RSS; a row here costs the path's bytes plus ~50.
 *
 * Rows are read through `at(i)`, which makes a short-lived entry object for the one caller that
 * asks (the tar writer asks once per entry and drops it); `at` is also what an array offers, so
 * code that takes an `EntryList` works on either.
 */
import type { EntryList } from "./tar.ts";
import type { EntryType, WalkEntry } from "./walk.ts";

export type { EntryList } from "./tar.ts";

const TYPES: readonly (EntryType | "hardlink")[] = ["file", "dir", "symlink", "hardlink"];
const CODE: Record<EntryType | "hardlink", number> = { file: 0, dir: 1, symlink: 2, hardlink: 3 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A table row as an entry: `source` is made from the table's lookup base when asked for. */
export interface TableEntry extends Omit<WalkEntry, "type"> {
  type: EntryType | "hardlink";
}

export class EntryTable implements EntryList<TableEntry> {
  length = 0;
  private cap: number;
  private types: Uint8Array;
  private modes: Uint16Array;
  private nlinks: Uint32Array;
  private sizes: Float64Array;
  private devs: Float64Array;
  private inos: Float64Array;
  private mtimes: Float64Array;
  private ctimes: Float64Array;
  /** Path i is bytes[ends[i-1] .. ends[i]). */
  private ends: Uint32Array;
  private bytes: Uint8Array;
  private used = 0;
  /** Symlink targets and hard-link first paths, by row (few). */
  private links = new Map<number, string>();

  constructor(private readonly base: string, capacity = 1024) {
    this.cap = capacity;
    this.types = new Uint8Array(capacity);
    this.modes = new Uint16Array(capacity);
    this.nlinks = new Uint32Array(capacity);
    this.sizes = new Float64Array(capacity);
    this.devs = new Float64Array(capacity);
    this.inos = new Float64Array(capacity);
    this.mtimes = new Float64Array(capacity);
    this.ctimes = new Float64Array(capacity);
    this.ends = new Uint32Array(capacity);
    this.bytes = new Uint8Array(capacity * 32);
  }

  /** Append an entry (its `source` is not kept: it is `base/path`). */
  push(e: Omit<WalkEntry, "source">): void {
    if (this.length === this.cap) this.grow();
    const i = this.length;
    this.types[i] = CODE[e.type];
    this.modes[i] = e.mode;
    this.nlinks[i] = e.nlink;
    this.sizes[i] = e.size;
    this.devs[i] = e.dev;
    this.inos[i] = e.ino;
    this.mtimes[i] = e.mtimeMs ?? Number.NaN;
    this.ctimes[i] = e.ctimeMs ?? Number.NaN;
    if (e.linkTarget !== undefined) this.links.set(i, e.linkTarget);
    // Worst case 3 bytes per UTF-16 unit.
    const need = this.used + e.path.length * 3;
    if (need > this.bytes.length) {
      const next = new Uint8Array(Math.max(need, this.bytes.length * 2));
      next.set(this.bytes.subarray(0, this.used));
      this.bytes = next;
    }
    this.used += encoder.encodeInto(e.path, this.bytes.subarray(this.used)).written;
    this.ends[i] = this.used;
    this.length++;
  }

  path(i: number): string {
    return decoder.decode(this.bytes.subarray(i === 0 ? 0 : this.ends[i - 1], this.ends[i]));
  }

  /**
   * `comparePaths(path(i), path(j))` on the bytes, without making strings: UTF-8 byte order is
   * code point order, with `/` lowest (depth-first).
   */
  comparePaths(i: number, j: number): number {
    const b = this.bytes;
    let x = i === 0 ? 0 : this.ends[i - 1]!;
    let y = j === 0 ? 0 : this.ends[j - 1]!;
    const xe = this.ends[i]!;
    const ye = this.ends[j]!;
    for (; x < xe && y < ye; x++, y++) {
      const p = b[x]!;
      const q = b[y]!;
      if (p !== q) return p === 0x2f ? -1 : q === 0x2f ? 1 : p - q;
    }
    return xe - x - (ye - y);
  }

  /** Byte length of row i's path. */
  pathLength(i: number): number {
    return this.ends[i]! - (i === 0 ? 0 : this.ends[i - 1]!);
  }

  /** Byte length of row i's parent path (the offset of its last `/`), -1 at the top. */
  parentLength(i: number): number {
    const start = i === 0 ? 0 : this.ends[i - 1]!;
    for (let k = this.ends[i]! - 1; k >= start; k--) if (this.bytes[k] === 0x2f) return k - start;
    return -1;
  }

  /** Whether row i's path starts with row j's whole path. */
  startsWithPath(i: number, j: number): boolean {
    const si = i === 0 ? 0 : this.ends[i - 1]!;
    const sj = j === 0 ? 0 : this.ends[j - 1]!;
    const n = this.ends[j]! - sj;
    if (this.ends[i]! - si < n) return false;
    for (let k = 0; k < n; k++) if (this.bytes[si + k] !== this.bytes[sj + k]) return false;
    return true;
  }

  type(i: number): EntryType | "hardlink" {
    return TYPES[this.types[i]!]!;
  }

  nlink(i: number): number {
    return this.nlinks[i]!;
  }

  /** "dev:ino", for hard-link detection. */
  inode(i: number): string {
    return `${this.devs[i]}:${this.inos[i]}`;
  }

  /** Turn row `i` (a file) into a hard link to `first`. */
  makeHardlink(i: number, first: string): void {
    this.types[i] = CODE.hardlink;
    this.sizes[i] = 0;
    this.links.set(i, first);
  }

  at(index: number): TableEntry | undefined {
    const i = index < 0 ? this.length + index : index;
    if (i < 0 || i >= this.length) return undefined;
    const path = this.path(i);
    const e: TableEntry = {
      path,
      source: this.base === "" ? path : `${this.base}/${path}`,
      type: TYPES[this.types[i]!]!,
      mode: this.modes[i]!,
      size: this.sizes[i]!,
      dev: this.devs[i]!,
      ino: this.inos[i]!,
      nlink: this.nlinks[i]!,
    };
    const link = this.links.get(i);
    if (link !== undefined) e.linkTarget = link;
    const m = this.mtimes[i]!;
    if (!Number.isNaN(m)) {
      e.mtimeMs = m;
      e.ctimeMs = this.ctimes[i]!;
    }
    return e;
  }

  /** Every row as an object (for callers that keep them all: tests, the SDK's `files()`). */
  toArray(): TableEntry[] {
    const out: TableEntry[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i)!);
    return out;
  }

  private grow(): void {
    const cap = this.cap * 2;
    const g = <A extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: A, make: new (n: number) => A): A => {
      const next = new make(cap);
      next.set(a);
      return next;
    };
    this.types = g(this.types, Uint8Array);
    this.modes = g(this.modes, Uint16Array);
    this.nlinks = g(this.nlinks, Uint32Array);
    this.sizes = g(this.sizes, Float64Array);
    this.devs = g(this.devs, Float64Array);
    this.inos = g(this.inos, Float64Array);
    this.mtimes = g(this.mtimes, Float64Array);
    this.ctimes = g(this.ctimes, Float64Array);
    this.ends = g(this.ends, Uint32Array);
    this.cap = cap;
  }
}
