/**
 * A digest of what a BuildContext sends, for deciding whether an image must be rebuilt: one
 * record per entry (type, path, mode, size, link target, content sha256). File contents are
 * hashed through a stat cache — (device, inode, size, mtime and ctime in ns) -> sha256 — so an unchanged
 * 1 GB context is digested without reading it. Any change of path, mode, link or content
 * changes the digest, as with `BuildContext.checksum()`; the two digests are different numbers.
 */
import { closeSync, constants, lstatSync, openSync, readSync } from "node:fs";
import type { ContextEntry } from "../context/build_context.ts";
import { RuntimeError } from "../errors.ts";
import type { FileHashRecord } from "../store/store.ts";

export interface FileHashCache {
  lookup(path: string): FileHashRecord | undefined;
  record(record: FileHashRecord): void;
}

/** A cache in memory only (tests, or no store). */
export function memoryHashCache(): FileHashCache & { records: Map<string, FileHashRecord> } {
  const records = new Map<string, FileHashRecord>();
  return { records, lookup: (p) => records.get(p), record: (r) => void records.set(r.path, r) };
}

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

/** `entries` is `context.files()`: the caller walks the context once and shares the list. */
export async function contextDigest(entries: readonly ContextEntry[], options: DigestOptions = {}): Promise<string> {
  const { cache, stats, signal } = options;
  const hasher = new Bun.CryptoHasher("sha256");
  for (const e of entries) {
    signal?.throwIfAborted();
    let content = "";
    if (e.type === "file") {
      if (e.content) content = new Bun.CryptoHasher("sha256").update(e.content).digest("hex");
      else if (e.source) content = await fileHash(e.source, cache, stats, signal);
      if (stats) stats.files++;
    }
    hasher.update(`${e.type}\0${e.path}\0${e.mode.toString(8)}\0${e.size}\0${e.linkTarget ?? ""}\0${content}\n`);
  }
  return `sha256:${hasher.digest("hex")}`;
}

async function fileHash(path: string, cache: FileHashCache | undefined, stats: DigestStats | undefined, signal: AbortSignal | undefined): Promise<string> {
  const st = stat(path);
  const key = { dev: Number(st.dev), ino: Number(st.ino), size: Number(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
  const hit = cache?.lookup(path);
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

function smallFileHash(path: string, size: number): string {
  let bytes: Buffer;
  try {
    // One byte more than expected: a file that grew since the stat is seen.
    // Non-blocking: a file swapped for a FIFO since the walk must not hang the run.
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const buf = Buffer.allocUnsafe(size + 1);
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
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

const changed = (path: string, size: number, read: number) => new RuntimeError("context.changed", `File '${path}' changed while it was read: ${size} bytes expected, ${read} read`);

function stat(path: string) {
  try {
    return lstatSync(path, { bigint: true });
  } catch (e) {
    throw new RuntimeError("context.read", `Cannot read '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
