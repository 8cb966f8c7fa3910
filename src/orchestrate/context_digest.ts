/**
 * A digest of what a BuildContext sends, for deciding whether an image must be rebuilt: one
 * record per entry (type, path, mode, size, link target, content sha256). File contents are
 * hashed through a stat cache — (device, inode, size, mtime and ctime in ns) -> sha256 — so an unchanged
 * 1 GB context is digested without reading it. Any change of path, mode, link or content
 * changes the digest, as with `BuildContext.checksum()`; the two digests are different numbers.
 */
import { closeSync, constants, openSync, readSync } from "node:fs";
import type { ContextEntry, ContextEntryList } from "../context/build_context.ts";
import { fileReader, type FileStamp } from "../context/_file_io.ts";
import { GarbageBound } from "../context/_heap.ts";
import { RuntimeError } from "../errors.ts";
import { FETCH_PATHS, type FileHashRecord, type Store } from "../store/store.ts";

export interface FileHashCache {
  lookup(path: string): FileHashRecord | undefined;
  record(record: FileHashRecord): void;
  /** `lookup` of many paths at once (up to LOOKAHEAD): the records found, by path. */
  lookupMany?(paths: readonly string[]): Map<string, FileHashRecord>;
}

/** Entries the digest reads ahead, to look their paths up at once (`FileHashCache.lookupMany`). */
export const LOOKAHEAD = FETCH_PATHS;

/** A cache in memory only (tests, or no store). */
export function memoryHashCache(): FileHashCache & { records: Map<string, FileHashRecord> } {
  const records = new Map<string, FileHashRecord>();
  return { records, lookup: (p) => records.get(p), record: (r) => void records.set(r.path, r) };
}

/** The store's cache (what `imgb build` uses); `flush()` writes what is left, and throws a write that failed before. */
export function storeHashCache(store: Store): FileHashCache & { flush(): void } {
  return new StoreHashCache(store);
}

/**
 * File hashes: looked up in the store by path (LOOKAHEAD paths a query), the new ones written every
 * PENDING_HASHES and at the end. Memory stays the same whatever the context's size: the
 * records of a whole top-level directory read at once (and every new one kept until the end)
 * were ~110 MB at 200,000 files.
 */
class StoreHashCache implements FileHashCache {
  readonly #store: Store;
  /** Recorded and not written yet: looked up first. */
  readonly #pending = new Map<string, FileHashRecord>();
  /** A write that failed: no more are tried, and the last flush() throws it. */
  #failed: unknown;
  constructor(store: Store) {
    this.#store = store;
  }
  lookup(path: string): FileHashRecord | undefined {
    return this.#pending.get(path) ?? this.#store.fileHash(path);
  }
  /** One query per FETCH_PATHS paths: a query per path took ~4.5 us, mostly the store file's locking (~1 s per 200,000 files). */
  lookupMany(paths: readonly string[]): Map<string, FileHashRecord> {
    const found = new Map<string, FileHashRecord>();
    for (let i = 0; i < paths.length; i += FETCH_PATHS) {
      for (const [p, r] of this.#store.fileHashes(paths.slice(i, i + FETCH_PATHS))) found.set(p, r);
    }
    for (const p of paths) {
      const pending = this.#pending.get(p);
      if (pending !== undefined) found.set(p, pending);
    }
    return found;
  }
  record(r: FileHashRecord): void {
    this.#pending.set(r.path, r);
    if (this.#pending.size < PENDING_HASHES || this.#failed !== undefined) return;
    try {
      this.#write();
    } catch (e) {
      this.#failed = e;
    }
  }
  flush(): void {
    if (this.#failed !== undefined) throw this.#failed;
    this.#write();
  }
  #write(): void {
    this.#store.putFileHashes([...this.#pending.values()]);
    this.#pending.clear();
  }
}

/** New records kept before they are written (exported for tests). */
export const PENDING_HASHES = 8192;

export interface DigestStats {
  files: number;
  /** Files whose content was read (not in the cache, or changed). */
  hashed: number;
  bytesHashed: number;
}

export interface DigestOptions {
  cache?: FileHashCache;
  stats?: DigestStats;
  /** Ctrl-C: checked per file and per chunk read, so a 10 GB context stops within one chunk. */
  signal?: AbortSignal;
}

/**
 * `entries` is `context.fileList()` (or `files()`): the caller walks the context once and shares
 * the list. Memory: one entry at a time, a collection every few thousand files (_heap.ts), the
 * stats through libc (no bigint Stats per file), one buffer for every small file: measured at
 * 200,000 files, the walk and a digest with every hash cached peaked at 438 MB of RSS before.
 */
export async function contextDigest(entries: ContextEntryList, options: DigestOptions = {}): Promise<string> {
  const { cache, stats, signal } = options;
  const hasher = new Bun.CryptoHasher("sha256");
  const gc = new GarbageBound();
  const ahead: ContextEntry[] = [];
  for (let start = 0; start < entries.length; start += LOOKAHEAD) {
    ahead.length = 0;
    for (let i = start; i < Math.min(start + LOOKAHEAD, entries.length); i++) ahead.push(entries.at(i)!);
    // Each digest its own answers: several images' digests run at once on one cache.
    const known = cache?.lookupMany?.(ahead.flatMap((e) => (e.type === "file" && !e.content && e.source ? [e.source] : [])));
    for (const e of ahead) {
      signal?.throwIfAborted();
      gc.tick();
      let content = "";
      if (e.type === "file") {
        if (e.content) content = new Bun.CryptoHasher("sha256").update(e.content).digest("hex");
        else if (e.source) content = await fileHash(e.source, cache, known, stats, signal);
        if (stats) stats.files++;
      }
      hasher.update(`${e.type}\0${e.path}\0${e.mode.toString(8)}\0${e.size}\0${e.linkTarget ?? ""}\0${content}\n`);
    }
  }
  return `sha256:${hasher.digest("hex")}`;
}

/** `known`: the cache's answers for this path's batch, when it gave them at once (a path not in it has no record). */
async function fileHash(path: string, cache: FileHashCache | undefined, known: Map<string, FileHashRecord> | undefined, stats: DigestStats | undefined, signal: AbortSignal | undefined): Promise<string> {
  const key = stamp(path);
  const hit = known ? known.get(path) : cache?.lookup(path);
  if (hit && hit.dev === key.dev && hit.ino === key.ino && hit.size === key.size && hit.mtimeNs === key.mtimeNs && hit.ctimeNs === key.ctimeNs) return hit.sha256;
  // A small file (most of a context) in one read: a stream costs more than the hash.
  if (key.size <= SMALL_FILE_BYTES) return record(smallFileHash(path, key.size), key.size);
  const hasher = new Bun.CryptoHasher("sha256");
  let read = 0;
  try {
    for await (const chunk of Bun.file(path).stream()) {
      hasher.update(chunk);
      read += chunk.length;
      // Bun resolves a file stream's chunks without returning to the event loop, so a SIGINT
      // handler (and the abort it fires) would wait for the whole file: yield once per chunk.
      if (signal) await new Promise((r) => setImmediate(r));
      signal?.throwIfAborted(); // leaving the loop cancels the stream: the file is closed
    }
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw new RuntimeError("context.read", `Cannot read '${path}': ${(e as Error).message}`);
  }
  if (read !== key.size) throw changed(path, key.size, read);
  return record(hasher.digest("hex"), read);

  function record(sha256: string, read: number): string {
    if (stats) {
      stats.hashed++;
      stats.bytesHashed += read;
    }
    cache?.record({ path, ...key, sha256 });
    return sha256;
  }
}

/** Files up to this size are read whole (synchronously: one open, one read), larger ones streamed. */
export const SMALL_FILE_BYTES = 256 * 1024;

/** Every small file is read into this one buffer (a fresh one per file was garbage to collect). */
let small: Uint8Array | undefined;

function smallFileHash(path: string, size: number): string {
  let bytes: Uint8Array;
  try {
    // One byte more than expected: a file that grew since the stat is seen.
    // Non-blocking: a file swapped for a FIFO since the walk must not hang the run.
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      small ??= new Uint8Array(SMALL_FILE_BYTES + 1);
      const buf = small.subarray(0, size + 1);
      let n = 0;
      for (let got = 1; got > 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
      bytes = buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new RuntimeError("context.read", `Cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (bytes.length !== size) throw changed(path, size, bytes.length);
  return Bun.CryptoHasher.hash("sha256", bytes, "hex");
}

const changed = (path: string, size: number, read: number) => new RuntimeError("context.changed", `File '${path}' changed while it was read: ${size} bytes expected, ${read} read`);

function stamp(path: string): FileStamp {
  try {
    return fileReader().stamp(path);
  } catch (e) {
    throw new RuntimeError("context.read", `Cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
