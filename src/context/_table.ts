/**
 * The walk's entries as one compact table: typed arrays and the paths packed as UTF-8 bytes,
 * instead of one JS object (and one path string) per file. Issue #18: at 200,000 files the
 * objects alone were ~60 MB of the peak RSS.
 *
 * Storage grows by fixed-size chunks, never by doubling and copying: a doubled array is up to
 * twice the rows it holds, and while it grows the old one is alive too (measured at 200,000
 * files: 9 MB of the peak RSS, against an exactly sized table). A row costs 44 bytes plus its
 * path's bytes: type, mode, nlink (capped at 255: only "is it 2 or more" matters, for hard
 * links), a device index (contexts span a handful of file systems), size, inode, mtime, ctime,
 * and the path's offset and length in the byte blocks (a path never straddles two blocks).
 *
 * Rows are read through `at(i)`, which makes a short-lived entry object for the one caller that
 * asks (the tar writer asks once per entry and drops it); `at` is also what an array offers, so
 * code that takes an `EntryList` works on either.
 */
import { RuntimeError } from "../errors.ts";
import type { EntryList, NativeRows } from "./tar.ts";
import type { EntryType, WalkEntry } from "./walk.ts";
import { stayBelowFTL } from "./_tiers.ts";

export type { EntryList } from "./tar.ts";

const TYPES: readonly (EntryType | "hardlink")[] = ["file", "dir", "symlink", "hardlink"];
const CODE: Record<EntryType | "hardlink", number> = { file: 0, dir: 1, symlink: 2, hardlink: 3 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Rows per chunk (a power of two) and bytes per path block, by default. */
const CHUNK_ROWS = 8192;
const BLOCK_BYTES = 1 << 20;
/** A path's length is kept in 16 bits; the kernel refuses paths past 4,096 bytes anyway. */
const MAX_PATH_BYTES = 0xffff;

/** A table row as an entry: `source` is made from the table's lookup base when asked for. */
export interface TableEntry extends Omit<WalkEntry, "type"> {
  type: EntryType | "hardlink";
}

interface Chunk {
  types: Uint8Array;
  modes: Uint16Array;
  nlinks: Uint8Array;
  devs: Uint16Array;
  sizes: Float64Array;
  inos: Float64Array;
  mtimes: Float64Array;
  ctimes: Float64Array;
  /** Offset of the path in `blocks` (block index * block size + offset in it), and its length. */
  offs: Uint32Array;
  lens: Uint16Array;
}

export class EntryTable implements EntryList<TableEntry>, NativeRows {
  length = 0;
  private readonly shift: number;
  private readonly mask: number;
  private readonly chunks: Chunk[] = [];
  private readonly blockBytes: number;
  private readonly blockShift: number;
  private readonly blocks: Uint8Array[] = [];
  /** Bytes used in the last block. */
  private used = 0;
  /** Device numbers by index (a row stores the index). */
  private readonly devList: number[] = [];
  private lastDev = Number.NaN;
  private lastDevIndex = 0;
  /** Symlink targets and hard-link first paths, by row (few). */
  private links = new Map<number, string>();
  /** The lookup base and a `/` as UTF-8 (nothing when it is ""), for `nativeRow`. */
  private baseBytes: Uint8Array | undefined;

  /** `chunkRows` and `blockBytes` (powers of two, 4 KiB-1 MiB): smaller in tests, to cross boundaries. */
  constructor(private readonly base: string, chunkRows = CHUNK_ROWS, blockBytes = BLOCK_BYTES) {
    this.shift = Math.max(0, Math.ceil(Math.log2(Math.max(1, chunkRows))));
    this.mask = (1 << this.shift) - 1;
    this.blockShift = Math.min(20, Math.max(12, Math.ceil(Math.log2(blockBytes))));
    this.blockBytes = 1 << this.blockShift; // at most 1 MiB: 4,096 blocks fill the 32-bit offsets
  }

  /** Append an entry (its `source` is not kept: it is `base/path`). */
  push(e: Omit<WalkEntry, "source">): void {
    this.pushRow(e.path, e.type, e.mode, e.size, e.dev, e.ino, e.nlink, e.mtimeMs, e.ctimeMs, e.linkTarget);
  }

  /** `push` from the fields themselves, without an object per entry. */
  pushRow(path: string, type: EntryType, mode: number, size: number, dev: number, ino: number, nlink: number, mtimeMs?: number, ctimeMs?: number, linkTarget?: string): void {
    this.place(0, path);
    const n = encoder.encodeInto(path, this.blocks[this.blocks.length - 1]!.subarray(this.used)).written;
    this.row(n, type, mode, size, dev, ino, nlink, mtimeMs, ctimeMs, linkTarget);
  }

  /**
   * The walk's way: row `parent`'s path (-1: none), "/" and `name`, copied as bytes, so the walk
   * makes no path string per entry (it needs one only for the ignore rules).
   */
  pushChild(parent: number, name: string, type: EntryType, mode: number, size: number, dev: number, ino: number, nlink: number, mtimeMs?: number, ctimeMs?: number, linkTarget?: string): void {
    const prefix = parent < 0 ? 0 : this.pathLength(parent) + 1;
    this.place(prefix, name);
    const block = this.blocks[this.blocks.length - 1]!;
    let at = this.used;
    if (parent >= 0) {
      // No view object per entry: the parent is nearly always in the same block.
      const start = this.startOf(parent);
      const from = this.bytesOf(parent);
      if (from === block) block.copyWithin(at, start, start + prefix - 1);
      else block.set(from.subarray(start, start + prefix - 1), at);
      at += prefix;
      block[at - 1] = 0x2f;
    }
    const n = prefix + writeName(name, block, at);
    this.row(n, type, mode, size, dev, ino, nlink, mtimeMs, ctimeMs, linkTarget);
  }

  /**
   * `pushChild` with the directory's path bytes (`dir`; undefined at the top) instead of its
   * row: the streamed walk's way, whose window no longer holds the rows of open directories.
   */
  pushIn(dir: Uint8Array | undefined, name: string, type: EntryType, mode: number, size: number, dev: number, ino: number, nlink: number, mtimeMs?: number, ctimeMs?: number, linkTarget?: string): void {
    const prefix = dir === undefined ? 0 : dir.length + 1;
    this.place(prefix, name);
    const block = this.blocks[this.blocks.length - 1]!;
    let at = this.used;
    if (dir !== undefined) {
      block.set(dir, at);
      at += prefix;
      block[at - 1] = 0x2f;
    }
    const n = prefix + writeName(name, block, at);
    this.row(n, type, mode, size, dev, ino, nlink, mtimeMs, ctimeMs, linkTarget);
  }

  /** Path bytes held, for a caller that bounds a window by bytes as well as rows. */
  get byteLength(): number {
    return this.blocks.length === 0 ? 0 : (this.blocks.length - 1) * this.blockBytes + this.used;
  }

  /** Forget every row, keeping the first chunk and block for the next ones (a streamed window). */
  clear(): void {
    this.length = 0;
    this.chunks.length = Math.min(this.chunks.length, 1);
    this.blocks.length = Math.min(this.blocks.length, 1);
    this.used = 0;
    this.links.clear();
  }

  /**
   * Make room in the last block for a path of `prefix` bytes and then `name` (at most 3 bytes
   * per UTF-16 unit). Near a block's end the exact length decides whether the path starts the
   * next block; a path never straddles two.
   */
  private place(prefix: number, name: string): void {
    const worst = prefix + name.length * 3;
    if (worst <= MAX_PATH_BYTES && this.blocks.length > 0 && this.used + worst <= this.blockBytes) return;
    const bytes = prefix + Buffer.byteLength(name);
    if (bytes > MAX_PATH_BYTES || bytes > this.blockBytes) throw new RuntimeError("context.name-too-long", `Path ".../${name}" is too long to archive`);
    if (this.blocks.length > 0 && this.used + bytes <= this.blockBytes) return;
    if (this.blocks.length === 4096) throw new RuntimeError("context.too-large", "The build context's paths exceed 4 GiB");
    this.blocks.push(new Uint8Array(this.blockBytes));
    this.used = 0;
  }

  /** Fill the next row; its `n` path bytes were just written at `used` in the last block. */
  private row(n: number, type: EntryType, mode: number, size: number, dev: number, ino: number, nlink: number, mtimeMs?: number, ctimeMs?: number, linkTarget?: string): void {
    const i = this.length;
    const k = i & this.mask;
    if (k === 0 && i >>> this.shift === this.chunks.length) this.chunks.push(newChunk(this.mask + 1));
    const c = this.chunks[i >>> this.shift]!;
    c.types[k] = CODE[type];
    c.modes[k] = mode;
    c.nlinks[k] = nlink > 255 ? 255 : nlink;
    c.devs[k] = this.devIndex(dev);
    c.sizes[k] = size;
    c.inos[k] = ino;
    c.mtimes[k] = mtimeMs ?? Number.NaN;
    c.ctimes[k] = ctimeMs ?? Number.NaN;
    if (linkTarget !== undefined) this.links.set(i, linkTarget);
    c.offs[k] = (this.blocks.length - 1) * this.blockBytes + this.used;
    c.lens[k] = n;
    this.used += n;
    this.length = i + 1;
  }

  path(i: number): string {
    const start = this.startOf(i);
    return decoder.decode(this.bytesOf(i).subarray(start, start + this.pathLength(i)));
  }

  /**
   * `comparePaths(path(i), path(j))` on the bytes, without making strings: UTF-8 byte order is
   * code point order, with `/` lowest (depth-first).
   */
  comparePaths(i: number, j: number): number {
    const b = this.bytesOf(i);
    const d = this.bytesOf(j);
    const x0 = this.startOf(i);
    const y0 = this.startOf(j);
    const xn = this.pathLength(i);
    const yn = this.pathLength(j);
    const n = Math.min(xn, yn);
    for (let k = 0; k < n; k++) {
      const p = b[x0 + k]!;
      const q = d[y0 + k]!;
      if (p !== q) return p === 0x2f ? -1 : q === 0x2f ? 1 : p - q;
    }
    return xn - yn;
  }

  /** Byte length of row i's path. */
  pathLength(i: number): number {
    return this.chunks[i >>> this.shift]!.lens[i & this.mask]!;
  }

  /** Byte length of row i's parent path (the offset of its last `/`), -1 at the top. */
  parentLength(i: number): number {
    const b = this.bytesOf(i);
    const start = this.startOf(i);
    for (let k = this.pathLength(i) - 1; k >= 0; k--) if (b[start + k] === 0x2f) return k;
    return -1;
  }

  /** Whether row i's path starts with row j's whole path. */
  startsWithPath(i: number, j: number): boolean {
    const n = this.pathLength(j);
    if (this.pathLength(i) < n) return false;
    const b = this.bytesOf(i);
    const d = this.bytesOf(j);
    const si = this.startOf(i);
    const sj = this.startOf(j);
    for (let k = 0; k < n; k++) if (b[si + k] !== d[sj + k]) return false;
    return true;
  }

  /** Whether row i's path starts with `bytes` (a path from another window). */
  startsWithBytes(i: number, bytes: Uint8Array): boolean {
    const n = bytes.length;
    if (this.pathLength(i) < n) return false;
    const b = this.bytesOf(i);
    const si = this.startOf(i);
    for (let k = 0; k < n; k++) if (b[si + k] !== bytes[k]) return false;
    return true;
  }

  /** A copy of row i's path bytes. */
  pathBytes(i: number): Uint8Array {
    const start = this.startOf(i);
    return this.bytesOf(i).slice(start, start + this.pathLength(i));
  }

  type(i: number): EntryType | "hardlink" {
    return TYPES[this.chunks[i >>> this.shift]!.types[i & this.mask]!]!;
  }

  /** The link count, capped at 255. */
  nlink(i: number): number {
    return this.chunks[i >>> this.shift]!.nlinks[i & this.mask]!;
  }

  /** "dev:ino", for hard-link detection. */
  inode(i: number): string {
    const c = this.chunks[i >>> this.shift]!;
    const k = i & this.mask;
    return `${this.devList[c.devs[k]!]}:${c.inos[k]}`;
  }

  /** The paths hard links point to (each link's first path), without an entry object per row. */
  linkTargets(): Set<string> {
    return new Set(this.links.values());
  }

  /** Turn row `i` (a file) into a hard link to `first`. */
  makeHardlink(i: number, first: string): void {
    const c = this.chunks[i >>> this.shift]!;
    c.types[i & this.mask] = CODE.hardlink;
    c.sizes[i & this.mask] = 0;
    this.links.set(i, first);
  }

  at(index: number): TableEntry | undefined {
    const i = index < 0 ? this.length + index : index;
    if (i < 0 || i >= this.length) return undefined;
    const c = this.chunks[i >>> this.shift]!;
    const k = i & this.mask;
    const path = this.path(i);
    const e: TableEntry = {
      path,
      source: this.base === "" ? path : `${this.base}/${path}`,
      type: TYPES[c.types[k]!]!,
      mode: c.modes[k]!,
      size: c.sizes[k]!,
      dev: this.devList[c.devs[k]!]!,
      ino: c.inos[k]!,
      nlink: c.nlinks[k]!,
    };
    const link = this.links.get(i);
    if (link !== undefined) e.linkTarget = link;
    const m = c.mtimes[k]!;
    if (!Number.isNaN(m)) {
      e.mtimeMs = m;
      e.ctimeMs = c.ctimes[k]!;
    }
    return e;
  }

  /**
   * Row `i` for the tar writer's native loop (tar.ts `NativeRows`), without an entry object:
   * its fields into `meta` at `m` and its name and source path into `blob` at `at`. Returns
   * where its bytes end; -1 when it is not a file or directory the loop writes (a link, a path
   * over 254 bytes, a size ustar cannot hold) or `blob` has no room, -2 past the last row.
   */
  nativeRow(i: number, _load: boolean, meta: Float64Array, m: number, blob: Uint8Array, at: number): number {
    if (i >= this.length) return -2;
    const c = this.chunks[i >>> this.shift]!;
    const k = i & this.mask;
    const type = c.types[k]!;
    const len = c.lens[k]!;
    if (type > 1 || len > 254) return -1;
    const base = (this.baseBytes ??= encoder.encode(this.base === "" ? "" : `${this.base}/`));
    if (at + base.length + len + 2 > blob.length) return -1;
    const block = this.bytesOf(i);
    const start = this.startOf(i);
    meta[m + 1] = c.modes[k]! & 0o7777;
    meta[m + 10] = -1;
    if (type === 1) {
      meta[m] = 0x35;
      meta[m + 2] = 0;
      meta[m + 3] = 0;
      meta[m + 7] = at;
      meta[m + 8] = len + 1;
      meta[m + 11] = -1;
      for (let b = 0; b < len; b++) blob[at + b] = block[start + b]!;
      blob[at + len] = 0x2f;
      return at + len + 1;
    }
    const size = c.sizes[k]!;
    if (size > 0o77777777777) return -1;
    const mtime = c.mtimes[k]!;
    meta[m] = 0x30;
    meta[m + 2] = size;
    meta[m + 3] = Number.isNaN(mtime) ? 0 : 1;
    meta[m + 4] = c.inos[k]!;
    meta[m + 5] = mtime;
    meta[m + 6] = c.ctimes[k]!;
    meta[m + 7] = at + base.length;
    meta[m + 8] = len;
    meta[m + 11] = at;
    blob.set(base, at);
    const to = at + base.length;
    for (let b = 0; b < len; b++) blob[to + b] = block[start + b]!;
    blob[to + len] = 0;
    return at + base.length + len + 1;
  }

  /** Every row as an object (for callers that keep them all: tests, the SDK's `files()`). */
  toArray(): TableEntry[] {
    const out: TableEntry[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i)!);
    return out;
  }

  /** The block holding row i's path, and where in it the path starts. */
  private bytesOf(i: number): Uint8Array {
    return this.blocks[this.chunks[i >>> this.shift]!.offs[i & this.mask]! >>> this.blockShift]!;
  }

  private startOf(i: number): number {
    return this.chunks[i >>> this.shift]!.offs[i & this.mask]! & (this.blockBytes - 1);
  }

  private devIndex(dev: number): number {
    if (dev === this.lastDev) return this.lastDevIndex;
    let x = this.devList.indexOf(dev);
    if (x < 0) {
      if (this.devList.length === 0xffff) throw new RuntimeError("context.too-large", "The build context spans more than 65,535 file systems");
      x = this.devList.push(dev) - 1;
    }
    this.lastDev = dev;
    this.lastDevIndex = x;
    return x;
  }
}

/** Write `name` as UTF-8 at `at` (room checked by the caller); ASCII without a view object. */
function writeName(name: string, block: Uint8Array, at: number): number {
  for (let k = 0; k < name.length; k++) {
    const c = name.charCodeAt(k);
    if (c >= 0x80) return encoder.encodeInto(name, block.subarray(at)).written;
    block[at + k] = c;
  }
  return name.length;
}

function newChunk(rows: number): Chunk {
  return {
    types: new Uint8Array(rows),
    modes: new Uint16Array(rows),
    nlinks: new Uint8Array(rows),
    devs: new Uint16Array(rows),
    sizes: new Float64Array(rows),
    inos: new Float64Array(rows),
    mtimes: new Float64Array(rows),
    ctimes: new Float64Array(rows),
    offs: new Uint32Array(rows),
    lens: new Uint16Array(rows),
  };
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(EntryTable, writeName, newChunk);
