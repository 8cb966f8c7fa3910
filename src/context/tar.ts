/**
 * A streaming, deterministic tar writer for build contexts.
 *
 * Format: ustar headers, with a PAX `x` record before an entry only when ustar cannot hold it
 * (a name that does not split into prefix 155 / name 100, a non-ASCII name or link target, a
 * link target over 100 bytes, a size of 8 GiB or more). Engines sniff the first 1024 bytes to
 * decide "is this a tar?", so the first header must be plain ustar: when the first entry would
 * need PAX, a `./` directory entry (mode 0755) is written before it.
 *
 * Determinism: owner 0:0, no user/group names, one mtime for every entry, permission bits
 * only, entries in the order given (the caller sorts), two zero blocks at the end.
 *
 * Memory: output is produced in chunks of `chunkSize` bytes (`IO_CHUNK` by default); file data is
 * read straight into the chunk being built, never a whole file at once. Chunks are made on
 * demand (`next()`), so a slow consumer holds back reading.
 */
import { join, resolve } from "node:path";
import type { ContextEntry } from "../builder/build_context.ts";
import { RuntimeError } from "../errors.ts";
import { fileReader, type FileReader } from "./_file_io.ts";
import { GarbageBound } from "./_heap.ts";
import { NATIVE_AFTER, nativeTar, nativeTried, type NativeTar } from "./_native.ts";
import { BLOCK, encodePax, isPlain, MAX_USTAR_SIZE, needsPax, paxRecords, template, writeHeader, type HeaderFields, type TypeFlag } from "./_tar_header.ts";
import { ioError } from "./walk.ts";
import { stayBelowFTL } from "./_tiers.ts";

/** For writers that patch a header field after the fact (the oci layer's owners and checksum). */
export { writeOctal } from "./_tar_header.ts";

/** What a list of entries must offer to be sent: arrays and the walk's `EntryTable` (_table.ts) both do. */
export interface EntryList<T> {
  readonly length: number;
  at(index: number): T | undefined;
}

/**
 * A source whose entries the native loop can take without an entry object each (EntryTable
 * and the streamed walk's window): row `i`'s fields and bytes into the loop's arrays (see
 * EntryTable `nativeRow`; `load`: it may read on to it), or -1 (not such a row: the entry
 * object's way) or -2 (not loaded, or past the end).
 */
export interface NativeRows {
  nativeRow(i: number, load: boolean, meta: Float64Array, m: number, blob: Uint8Array, at: number): number;
}

/**
 * What the writer reads, in order: an EntryList, or entries produced while it writes (a
 * streamed walk, _streamed.ts, whose length is not known until the end). `at(i)` is undefined
 * past the last entry.
 */
export type EntrySource<T> = Pick<EntryList<T>, "at">;

/** An archive entry: the context entry's shape (path, type, mode, size, link), and where its bytes come from. */
export interface TarEntry extends Pick<ContextEntry, "path" | "type" | "mode" | "size" | "linkTarget"> {
  /** File on disk to read the content from (relative paths: to `TarOptions.cwd`)... */
  source?: string;
  /** ...or the content itself. */
  data?: Uint8Array;
  /**
   * The source's identity when it was walked (and checksummed). When set, the file must still
   * have it after it was read, else the stream fails with `context.changed`: the engine must get
   * the bytes the checksum describes, and a same-size rewrite or a replacement shows only here
   * (the kernel updates ctime on every write; a rename gives another inode).
   */
  ino?: number;
  mtimeMs?: number;
  ctimeMs?: number;
}

export interface TarOptions {
  /** mtime of every entry, in seconds since the epoch. */
  mtime: number;
  /** Output chunk size in bytes, a multiple of 512 (default `IO_CHUNK`). */
  chunkSize?: number;
  /**
   * Return views of one internal buffer: a chunk is valid only until the next `next()` call.
   * For synchronous consumers (a file descriptor, a hash): no allocation, no page faults.
   */
  reuseBuffer?: boolean;
  /**
   * With `reuseBuffer`: how many internal buffers to cycle through (default 1). A chunk then
   * stays valid until `buffers` more `next()` calls, so with 2 a consumer can write one chunk
   * asynchronously while the next one is being filled (see `writeTarToFd`).
   */
  buffers?: number;
  /** Directory relative `source` paths were made against (default: the working directory now). */
  cwd?: string;
  /**
   * Write the entries' records only: no leading `./` entry, no end-of-archive blocks. For an
   * archive written in parts at known offsets (_split.ts), each part `recordBytes` long.
   */
  fragment?: boolean;
  /** How files are read (default: libc where it loads, else node:fs; _file_io.ts). */
  reader?: FileReader;
  /**
   * Write runs of plain entries with the native loop where it loads (default true; _native.ts).
   * Ignored with a `reader` of the caller's: that reader is then what reads every file.
   */
  native?: boolean;
  /**
   * Entries written before the native loop is compiled, if no writer of this thread did yet
   * (default NATIVE_AFTER; tests: 0). Counted across `restart`s.
   */
  nativeAfter?: number;
}

/**
 * The size of every read and write of context data (tar chunks, directory copies): 256 KiB.
 * Measured (issue #18, 4 x 256 MiB to a file): 1 MiB reads and writes took 4-8x the system
 * time of 128-256 KiB ones (1.3-2.8 s against 0.31-0.38 s) and made the wall time swing from
 * 1.5 to 3 s; a buffer that stays in the CPU cache keeps both copies (page cache -> buffer ->
 * page cache or pipe) cheap. Still big enough that syscalls per byte do not matter.
 */
export const IO_CHUNK = 256 << 10;

const TYPE: Record<TarEntry["type"], TypeFlag> = { file: "0", hardlink: "1", symlink: "2", dir: "5" };

/** The typeflag bytes, for the native loop. */
const TYPE_BYTE: Record<TarEntry["type"], number> = { file: 0x30, hardlink: 0x31, symlink: 0x32, dir: 0x35 };
/** Doubles per entry in the native loop's meta array (native/tar_records.c META), and the most entries a run holds. */
const NATIVE_META = 12;
const RUN_ENTRIES = 512;
/** Bytes of names, link targets and source paths a run holds. */
const RUN_BYTES = 64 << 10;

/** The header fields of `e`, written into `f` (one object reused for every entry). */
function entryFields(e: TarEntry, mtime: number, f: HeaderFields): HeaderFields {
  f.name = e.type === "dir" ? `${e.path}/` : e.path;
  f.mode = e.mode & 0o7777;
  f.size = e.type === "file" ? e.size : 0;
  f.mtime = mtime;
  f.type = TYPE[e.type];
  f.linkname = e.type === "symlink" || e.type === "hardlink" ? e.linkTarget ?? "" : undefined;
  return f;
}

const scratch: HeaderFields = { name: "", mode: 0, size: 0, mtime: 0, type: "0", linkname: undefined };

/** The archive bytes `e` takes: its PAX record if it needs one, its header, its content padded to 512. */
export function recordBytes(e: TarEntry): number {
  const f = entryFields(e, 0, scratch);
  const pax = needsPax(f) ? BLOCK + padded(encodePax(paxRecords(f)).length) : 0;
  return pax + BLOCK + padded(f.size);
}

/** The `./` entry an archive starts with when its first entry needs PAX (see the top of this file), or undefined. */
export function leadBlock(first: TarEntry | undefined, mtime: number): Uint8Array | undefined {
  if (first === undefined || !needsPax(entryFields(first, 0, scratch))) return undefined;
  const block = new Uint8Array(BLOCK);
  writeHeader(block, LEAD(mtime));
  return block;
}

const LEAD = (mtime: number): HeaderFields => ({ name: "./", mode: 0o755, size: 0, mtime, type: "5" });

/** Produces the archive chunk by chunk. Call `next()` until it returns null; `close()` on abort. */
export class TarWriter {
  private entries: EntrySource<TarEntry>;
  private readonly mtime: number;
  private readonly chunkSize: number;
  private readonly reuse: boolean;
  private readonly cwd: string;
  private readonly fragment: boolean;
  /** Set when the process changed directory since the walk: relative sources are joined to it. */
  private base: string | undefined;
  private index = 0;
  private started = false;
  private finished = false;
  /** The file being copied (descriptor -1: none), and its bytes still to read. */
  private fd = -1;
  private fileEntry: TarEntry | undefined;
  private remaining = 0;
  private buf: Uint8Array;
  private pos = 0;
  /** With `reuseBuffer`: the buffers cycled through. */
  private readonly ring: Uint8Array[] = [];
  private slot = 0;
  /** One header's fields, rewritten for every entry (headers are written once per file). */
  private readonly hf: HeaderFields = { name: "", mode: 0, size: 0, mtime: 0, type: "0", linkname: undefined };
  private readonly gc = new GarbageBound();
  private readonly io: FileReader;
  /** The native loop (null: none, or not to be used), its arrays, and the entries of the current run (see `nativeRun`). */
  private native: NativeTar | null | undefined;
  private readonly nativeAfter: number;
  /** Entries written by the TypeScript path, for `nativeAfter`. */
  private written = 0;
  private meta: Float64Array | undefined;
  private blob: Buffer | undefined;
  private readonly end = new Int32Array(1);
  /** The source as rows (NativeRows), where it is one. */
  private rows: NativeRows | undefined;
  private run: TarEntry[] = [];
  private runStart = 0;
  /** The native loop stopped at the entry at `index`: it is done by the TypeScript path. */
  private jsNext = false;

  constructor(entries: EntrySource<TarEntry>, options: TarOptions) {
    this.entries = entries;
    this.rows = asRows(entries);
    this.mtime = options.mtime;
    this.chunkSize = options.chunkSize ?? IO_CHUNK;
    this.reuse = options.reuseBuffer ?? false;
    this.cwd = options.cwd ?? process.cwd();
    this.fragment = options.fragment ?? false;
    this.io = options.reader ?? fileReader();
    this.native = options.native === false || options.reader !== undefined ? null : undefined;
    this.nativeAfter = options.nativeAfter ?? NATIVE_AFTER;
    // 64 KiB minimum: a header with PAX records for PATH_MAX-long names must fit in one chunk.
    if (this.chunkSize % BLOCK !== 0 || this.chunkSize < 1 << 16) throw new RangeError("chunkSize must be a multiple of 512 and at least 64 KiB");
    const buffers = this.reuse ? options.buffers ?? 1 : 1;
    if (!Number.isInteger(buffers) || buffers < 1) throw new RangeError("buffers must be a positive integer");
    if (this.reuse) for (let i = 0; i < buffers; i++) this.ring.push(new Uint8Array(this.chunkSize));
    this.buf = this.reuse ? this.ring[0]! : new Uint8Array(this.chunkSize);
  }

  /** The next chunk of the archive, or null at the end. Throws RuntimeError on I/O failure. */
  next(): Uint8Array | null {
    if (this.finished) return null;
    this.base = process.cwd() === this.cwd ? undefined : this.cwd;
    if (this.reuse) this.buf = this.ring[this.slot]!;
    try {
      this.fill();
    } catch (e) {
      this.close();
      this.finished = true;
      throw e;
    }
    const chunk = this.buf.subarray(0, this.pos);
    // A reused buffer is not cleared: every byte of a chunk is written (a header is a whole
    // block, padding and the end blocks are zeroed where they are made; clearing each chunk
    // was a memset of the whole archive, ~3% of a small-file write's CPU). Else a fresh one
    // per chunk: the consumer owns the old one.
    if (this.reuse) this.slot = (this.slot + 1) % this.ring.length;
    else {
      this.buf = new Uint8Array(this.chunkSize);
      this.gc.handedOver(chunk.length);
    }
    this.pos = 0;
    return chunk.length > 0 ? chunk : null;
  }

  /**
   * Start over with `entries`, keeping the buffers and the garbage count: a writer of many
   * `fragment`s (_split.ts) allocates one chunk buffer, not one per part. The previous archive
   * must have been read to its end or closed.
   */
  restart(entries: EntrySource<TarEntry>): void {
    this.close();
    this.entries = entries;
    this.rows = asRows(entries);
    this.index = 0;
    this.started = false;
    this.finished = false;
    this.spill = undefined;
    this.run.length = 0;
    this.runStart = 0;
    this.jsNext = false;
    this.pos = 0;
    if (!this.reuse) this.buf = new Uint8Array(this.chunkSize);
  }

  /** Release an open file descriptor (on cancel). */
  close(): void {
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      this.fileEntry = undefined;
      this.io.close(fd);
    }
  }

  private fill(): void {
    while (this.pos < this.chunkSize) {
      if (this.fd >= 0) {
        this.readFile();
        continue;
      }
      if (this.spill) {
        this.drainSpill();
        continue;
      }
      if (!this.started) {
        this.started = true;
        if (this.fragment) continue;
        const first = this.entries.at(0);
        if (first && needsPax(this.fields(first))) this.header(LEAD(this.mtime));
        continue;
      }
      if (this.native !== null && !this.jsNext && this.useNative() && this.nativeRun()) continue;
      this.jsNext = false;
      const entry = this.entryAt(this.index);
      if (entry === undefined) {
        if (this.fragment) {
          this.finished = true;
          return;
        }
        // Two zero blocks end the archive.
        if (this.chunkSize - this.pos < 2 * BLOCK) return;
        this.buf.fill(0, this.pos, this.pos + 2 * BLOCK);
        this.pos += 2 * BLOCK;
        this.finished = true;
        return;
      }
      // A header (plus a PAX record and its header) must not straddle chunks: leave room.
      const fields = this.fields(entry);
      const paxData = needsPax(fields) ? encodePax(paxRecords(fields)) : undefined;
      const need = BLOCK + (paxData ? BLOCK + padded(paxData.length) : 0);
      if (need > this.chunkSize - this.pos) {
        if (this.pos > 0) return;
        throw new RuntimeError("context.name-too-long", `Path "${entry.path}" is too long to archive`);
      }
      this.index++;
      this.written++;
      if (paxData) {
        this.header({ name: "././@PaxHeader", mode: 0o644, size: paxData.length, mtime: this.mtime, type: "x" });
        this.bytes(paxData);
      }
      this.header(fields);
      if (entry.type === "file") this.startContent(entry);
    }
  }

  /** Entry `i`: from the current run if it holds it (a streamed source may have dropped it), else from the source. */
  private entryAt(i: number): TarEntry | undefined {
    const k = i - this.runStart;
    return k >= 0 && k < this.run.length ? this.run[k] : this.entries.at(i);
  }

  /** Whether to use the native loop (compiled here once enough entries were written, if no writer of this thread did already). */
  private useNative(): boolean {
    if (this.native === undefined) {
      if (this.written < this.nativeAfter && !nativeTried()) return false;
      this.native = nativeTar();
    }
    return this.native !== null;
  }

  /**
   * Write the next entries with the native loop while they are plain (a file read from disk, a
   * directory, a link; an ASCII name of at most 255 bytes; no PAX record) and their records fit
   * in this chunk. False when the next entry is not one: the TypeScript path does it. Where the
   * native loop stops early (an entry it cannot do: a file that cannot be read or changed, a
   * name that does not split), the TypeScript path does that entry next, with its errors.
   */
  private nativeRun(): boolean {
    const meta = (this.meta ??= new Float64Array(RUN_ENTRIES * NATIVE_META));
    const blob = (this.blob ??= Buffer.allocUnsafe(RUN_BYTES));
    const space = this.chunkSize - this.pos;
    const from = this.index;
    if (this.rows !== undefined && this.base === undefined) return this.nativeRows(this.rows, meta, blob, space, from);
    // The run's entry objects are kept: the TypeScript path takes the one it stopped at from them.
    const run = this.run;
    run.length = 0;
    this.runStart = from;
    let n = 0;
    let bytes = 0;
    let at = 0;
    for (let i = from; n < RUN_ENTRIES; i++) {
      const e = this.entries.at(i);
      if (e === undefined) break;
      run.push(e);
      const type = e.type;
      const path = e.path;
      let size = 0;
      let source: string | undefined;
      if (type === "file") {
        // A NUL in the path (an entry made by hand: node:fs refuses it) would open another file.
        if (e.data !== undefined || e.source === undefined || e.size > MAX_USTAR_SIZE || e.source.includes("\0")) break;
        size = e.size;
        source = this.base !== undefined && !e.source.startsWith("/") ? join(this.base, e.source) : e.source;
      }
      const record = BLOCK + padded(size);
      if (bytes + record > space || path.length > 254 || !isPlain(path)) break;
      const link = type === "symlink" || type === "hardlink" ? e.linkTarget ?? "" : undefined;
      if (link !== undefined && (link.length > 100 || !isPlain(link))) break;
      if (at + path.length + 1 + (link?.length ?? 0) + (source === undefined ? 0 : source.length * 3 + 1) > RUN_BYTES) break;
      const m = n * NATIVE_META;
      meta[m] = TYPE_BYTE[type];
      meta[m + 1] = e.mode & 0o7777;
      meta[m + 2] = size;
      const stamped = source !== undefined && e.ctimeMs !== undefined;
      meta[m + 3] = stamped ? 1 : 0;
      meta[m + 4] = stamped && e.ino !== undefined ? e.ino : -1;
      meta[m + 5] = stamped ? e.mtimeMs ?? Number.NaN : 0;
      meta[m + 6] = stamped ? e.ctimeMs! : 0;
      if (source !== undefined && source.endsWith(path)) {
        // The name is the source path's tail (ASCII: as many bytes as characters).
        const written = blob.write(source, at, "utf8");
        blob[at + written] = 0;
        meta[m + 7] = at + written - path.length;
        meta[m + 8] = path.length;
        meta[m + 11] = at;
        at += written + 1;
      } else {
        meta[m + 7] = at;
        at += blob.write(path, at, "latin1");
        if (type === "dir") blob[at++] = 0x2f;
        meta[m + 8] = at - meta[m + 7]!;
        if (source !== undefined) {
          const written = blob.write(source, at, "utf8");
          blob[at + written] = 0;
          meta[m + 11] = at;
          at += written + 1;
        } else meta[m + 11] = -1;
      }
      if (link !== undefined) {
        meta[m + 9] = at;
        meta[m + 10] = link.length;
        at += blob.write(link, at, "latin1");
      } else meta[m + 10] = -1;
      bytes += record;
      n++;
    }
    return n > 0 && this.writeRun(meta, blob, n, from);
  }

  /** `nativeRun` for a source of rows (NativeRows): no entry object, no string. */
  private nativeRows(rows: NativeRows, meta: Float64Array, blob: Buffer, space: number, from: number): boolean {
    this.run.length = 0;
    let n = 0;
    let bytes = 0;
    let at = 0;
    for (let i = from; n < RUN_ENTRIES; i++) {
      const m = n * NATIVE_META;
      const end = rows.nativeRow(i, i === from, meta, m, blob, at);
      if (end < 0) break;
      const record = BLOCK + padded(meta[m + 2]!);
      if (bytes + record > space) break;
      at = end;
      bytes += record;
      n++;
    }
    return n > 0 && this.writeRun(meta, blob, n, from);
  }

  /** The native loop over the `n` entries of a run from `from`; where it stops early, the TypeScript path takes the entry next. */
  private writeRun(meta: Float64Array, blob: Buffer, n: number, from: number): true {
    const t = template(this.mtime);
    const done = this.native!.records(this.buf, this.pos, blob, meta, n, t.block, t.sum, this.end);
    for (let k = 0; k < done; k++) if (meta[k * NATIVE_META] === TYPE_BYTE.file) this.gc.tick();
    this.index = from + done;
    this.pos = this.end[0]!;
    if (done < n) this.jsNext = true;
    return true;
  }

  /** The header fields of `e`, in the writer's one reused object (valid until the next call). */
  private fields(e: TarEntry): HeaderFields {
    return entryFields(e, this.mtime, this.hf);
  }

  private header(f: HeaderFields): void {
    writeHeader(this.buf.subarray(this.pos, this.pos + BLOCK), f);
    this.pos += BLOCK;
  }

  /** Copy a PAX record block (room was reserved by the caller) and pad to 512. */
  private bytes(data: Uint8Array): void {
    this.buf.set(data, this.pos);
    this.pos += data.length;
    this.pad();
  }

  /** Zeros up to the next block boundary (chunks are whole blocks: never past the buffer). */
  private pad(): void {
    const end = padded(this.pos);
    if (end > this.pos) this.buf.fill(0, this.pos, end);
    this.pos = end;
  }

  private startContent(entry: TarEntry): void {
    if (entry.data) {
      this.spill = { data: entry.data, offset: 0 };
      this.drainSpill();
      return;
    }
    if (entry.source === undefined) return;
    const path = this.base !== undefined && !entry.source.startsWith("/") ? join(this.base, entry.source) : entry.source;
    let fd: number;
    try {
      fd = this.io.open(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw new RuntimeError("context.changed", `File "${resolve(this.cwd, path)}" vanished while the build context was being sent`, { cause: e, hint: CHANGED_HINT });
      }
      throw ioError("read", resolve(this.cwd, path), e);
    }
    this.fd = fd;
    this.fileEntry = entry;
    this.remaining = entry.size;
    this.gc.tick();
  }

  /** Inline content still to copy (it may span chunks). */
  private spill: { data: Uint8Array; offset: number } | undefined;

  private drainSpill(): void {
    const s = this.spill!;
    const n = Math.min(s.data.length - s.offset, this.chunkSize - this.pos);
    this.buf.set(s.data.subarray(s.offset, s.offset + n), this.pos);
    this.pos += n;
    s.offset += n;
    if (s.offset === s.data.length) {
      this.spill = undefined;
      this.pad();
    }
  }

  private readFile(): void {
    // Ask for one byte more than expected when it fits: a full answer means the file grew,
    // and a short one at the expected size proves it did not, sparing an fstat per file.
    const entry = this.fileEntry!;
    const space = this.chunkSize - this.pos;
    const want = Math.min(space, this.remaining + 1);
    let n: number;
    try {
      n = this.io.read(this.fd, this.buf, this.pos, want);
    } catch (e) {
      throw ioError("read", resolve(this.cwd, entry.source!), e);
    }
    if (n > this.remaining) throw changed(resolve(this.cwd, entry.source!), entry.size, "grew");
    if (n === 0 && this.remaining > 0) throw changed(resolve(this.cwd, entry.source!), entry.size, "shrank");
    this.pos += n;
    this.remaining -= n;
    if (this.remaining === 0) this.finishFile(entry, want > n);
  }

  /** Check the file did not change since the walk nor while reading, then pad to the block boundary. */
  private finishFile(e: TarEntry, sawEnd: boolean): void {
    // One fstat after the last read: ctime covers every write since the walk. Without a
    // recorded identity (a TarEntry made by hand), only the size is checked, and only when the
    // reads did not already prove it.
    const stamped = e.ctimeMs !== undefined;
    let st: { size: number; ino: number; mtimeMs: number; ctimeMs: number } | undefined;
    try {
      if (stamped || !sawEnd) st = this.io.identity(this.fd);
    } finally {
      this.close();
    }
    const path = () => resolve(this.cwd, e.source!);
    if (st && st.size !== e.size) throw changed(path(), e.size, st.size > e.size ? "grew" : "shrank");
    if (st && stamped && (st.ctimeMs !== e.ctimeMs || st.mtimeMs !== e.mtimeMs || (e.ino !== undefined && st.ino !== e.ino))) throw rewritten(path());
    // Content starts on a block boundary and chunks are whole blocks, so padding never
    // crosses a chunk.
    this.pad();
  }
}

const CHANGED_HINT = "Stop processes writing into the build context, or ignore the file in .dockerignore";

function changed(path: string, size: number, how: string): RuntimeError {
  return new RuntimeError("context.changed", `File "${path}" changed while the build context was being sent: it ${how} from ${size} bytes`, { hint: CHANGED_HINT });
}

function rewritten(path: string): RuntimeError {
  return new RuntimeError("context.changed", `File "${path}" changed while the build context was being sent: it was rewritten or replaced after it was checksummed`, { hint: CHANGED_HINT });
}

function asRows(entries: EntrySource<TarEntry>): NativeRows | undefined {
  const rows = entries as Partial<NativeRows>;
  return typeof rows.nativeRow === "function" ? (rows as NativeRows) : undefined;
}

const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;
const padded = (n: number) => n + pad(n);

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(TarWriter, entryFields, recordBytes, asRows, pad, padded);
