/**
 * A deterministic gzip layer from tar entries, streamed to a file: the context's TarWriter makes
 * the tar (sorted by the caller, one mtime, permission bits only), owners are patched into the
 * headers (TarWriter writes 0:0; COPY --chown needs others), node:zlib compresses with a fixed
 * level (header mtime 0, no name, OS byte 3). The blob is hashed while written (the layer
 * digest) and the tar before compression (the diff_id). Memory stays at a few chunks whatever
 * the layer size.
 */
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { once } from "node:events";
import { createGzip } from "node:zlib";
import { CancelledError, writeError } from "../errors.ts";
import { identityFields, type FileIdentity } from "../context/snapshot_file.ts";
import { TarWriter, writeOctal, type TarEntry } from "../context/tar.ts";
import { MediaType } from "./image.ts";

export interface LayerEntry extends Omit<TarEntry, "ino" | "mtimeMs" | "ctimeMs"> {
  uid?: number;
  gid?: number;
  /** A build context file: the TarWriter proves after reading it that it is the snapshot's. */
  identity?: FileIdentity;
}

export interface Layer {
  mediaType: string;
  /** sha256 of the gzip blob. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** The blob on disk (temporary). */
  path: string;
}

export interface LayerOptions {
  mtime: number;
  level: number;
  signal?: AbortSignal;
}

export async function writeLayer(entries: readonly LayerEntry[], path: string, options: LayerOptions): Promise<Layer> {
  const tar = new TarWriter(
    entries.map((e) => (e.identity ? { ...e, ...identityFields(e.identity) } : e)),
    { mtime: options.mtime },
  );
  const owners = new OwnerPatcher(entries);
  const diff = new Bun.CryptoHasher("sha256");
  const blob = new Bun.CryptoHasher("sha256");
  let fd: number;
  try {
    fd = openSync(path, "w", 0o600);
  } catch (e) {
    throw writeError(e, "an image layer", path);
  }
  let size = 0;
  let failed: unknown;
  const gzip = createGzip({ level: options.level, chunkSize: 1 << 20 });
  gzip.on("data", (chunk: Buffer) => {
    if (failed) return;
    try {
      blob.update(chunk);
      writeSync(fd, chunk);
      size += chunk.length;
    } catch (e) {
      // Thrown here it would escape the stream as an uncaught exception (a crash with a stack
      // trace, e.g. ENOSPC on a full TMPDIR): fail the stream instead, which the loop awaits.
      failed = writeError(e, "an image layer", path);
      gzip.destroy(failed as Error);
    }
  });
  const ended = once(gzip, "end");
  ended.catch(() => {}); // a failure is rethrown below; while the loop awaits "drain" nobody awaits this
  try {
    for (let chunk = tar.next(); chunk; chunk = tar.next()) {
      if (failed) throw failed;
      if (options.signal?.aborted) throw new CancelledError("Writing an image layer was cancelled");
      owners.patch(chunk);
      diff.update(chunk);
      if (!gzip.write(chunk)) await once(gzip, "drain");
    }
    gzip.end();
    await ended;
    if (failed) throw failed;
  } catch (e) {
    tar.close();
    gzip.destroy();
    closeSync(fd);
    try {
      rmSync(path, { force: true }); // no half-written layer left behind
    } catch {
      // a read-only file system refuses even this; the error that matters is the one below
    }
    throw failed ?? e;
  }
  closeSync(fd);
  return { mediaType: MediaType.ociLayerGzip, digest: `sha256:${blob.digest("hex")}`, size, diffId: `sha256:${diff.digest("hex")}`, path };
}

/**
 * Sets uid/gid in the headers TarWriter wrote. Chunks are whole 512-byte blocks, so a header is
 * never split; headers come in entry order, each optionally after a PAX `x` header (and a
 * leading `./` directory when the first entry needs PAX).
 */
class OwnerPatcher {
  private index = 0;
  /** Blocks of content still to skip. */
  private skip = 0;
  private readonly active: boolean;

  constructor(private readonly entries: readonly LayerEntry[]) {
    this.active = entries.some((e) => (e.uid ?? 0) !== 0 || (e.gid ?? 0) !== 0);
  }

  patch(chunk: Uint8Array): void {
    if (!this.active) return;
    for (let off = 0; off < chunk.length; off += 512) {
      if (this.skip > 0) {
        this.skip--;
        continue;
      }
      const type = String.fromCharCode(chunk[off + 156]!);
      if (chunk[off] === 0 && type === "\0") continue; // end-of-archive blocks
      if (type === "x") {
        this.skip = Math.ceil(readOctal(chunk, off + 124, 12) / 512);
        continue;
      }
      if (this.index === 0 && readName(chunk, off) === "./" && this.entries[0]?.path !== ".") continue;
      const entry = this.entries[this.index++];
      if (!entry) continue;
      if (entry.type === "file") this.skip = Math.ceil(entry.size / 512);
      const uid = entry.uid ?? 0;
      const gid = entry.gid ?? 0;
      if (uid === 0 && gid === 0) continue;
      const header = chunk.subarray(off, off + 512);
      writeOctal(header, 108, 8, uid);
      writeOctal(header, 116, 8, gid);
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += header[i]!;
      writeOctal(header, 148, 7, sum);
      header[155] = 0x20;
    }
  }
}

function readOctal(b: Uint8Array, off: number, width: number): number {
  let v = 0;
  for (let i = off; i < off + width; i++) {
    const c = b[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

function readName(b: Uint8Array, off: number): string {
  let end = off;
  while (end < off + 100 && b[end] !== 0) end++;
  return new TextDecoder().decode(b.subarray(off, end));
}
