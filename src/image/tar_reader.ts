/**
 * A streaming tar reader: headers (ustar, PAX `x`/`g`, GNU long names `L`/`K`) and file
 * content handed to a per-entry sink chunk by chunk, so a base layer of any size passes
 * through a few buffers. Used to read a base image's file tree (COPY --from an image stage,
 * --chown by name) and the inline-content entries of a build context.
 */
import { RuntimeError } from "../errors.ts";

export interface TarHeader {
  path: string;
  /** Type flag: "0" file, "1" hard link, "2" symlink, "5" directory, … */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget: string;
}

/** Return a sink for the entry's content, undefined to skip it, or "stop" to end reading. */
export type OnEntry = (header: TarHeader) => ((chunk: Uint8Array) => void) | undefined | "stop";

const decoder = new TextDecoder();

export async function readTar(stream: ReadableStream<Uint8Array>, onEntry: OnEntry, what: string): Promise<void> {
  const reader = stream.getReader();
  let pending = new Uint8Array(0);
  let pax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  // Content of the current entry: bytes left, padding after it, and where they go.
  let remaining = 0;
  let padding = 0;
  let sink: ((chunk: Uint8Array) => void) | undefined;
  let meta: { kind: "x" | "L" | "K"; parts: Uint8Array[] } | undefined;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      let chunk: Uint8Array = pending.length > 0 ? concat(pending, value) : value;
      pending = new Uint8Array(0);
      let off = 0;
      while (off < chunk.length) {
        if (remaining > 0) {
          const n = Math.min(remaining, chunk.length - off);
          const part = chunk.subarray(off, off + n);
          if (meta) meta.parts.push(part.slice());
          else sink?.(part);
          remaining -= n;
          off += n;
          if (remaining === 0 && meta) {
            const text = decoder.decode(concat(...meta.parts));
            if (meta.kind === "x") pax = { ...pax, ...parsePax(text) };
            else if (meta.kind === "L") longName = text.replace(/\0+$/, "");
            else longLink = text.replace(/\0+$/, "");
            meta = undefined;
          }
          continue;
        }
        if (padding > 0) {
          const n = Math.min(padding, chunk.length - off);
          padding -= n;
          off += n;
          continue;
        }
        if (chunk.length - off < 512) {
          pending = chunk.slice(off);
          break;
        }
        const block = chunk.subarray(off, off + 512);
        off += 512;
        if (block.every((b) => b === 0)) continue; // end-of-archive blocks
        const type = String.fromCharCode(block[156]!) || "0";
        const size = pax.size !== undefined ? Number(pax.size) : octal(block, 124, 12);
        remaining = size;
        padding = (512 - (size % 512)) % 512;
        if (type === "x" || type === "g" || type === "L" || type === "K") {
          // Global PAX records are read and dropped: layers do not use them for paths.
          sink = undefined;
          meta = type === "g" || size === 0 ? undefined : { kind: type, parts: [] };
          continue;
        }
        const prefix = str(block, 345, 155);
        const name = pax.path ?? longName ?? (prefix ? `${prefix}/${str(block, 0, 100)}` : str(block, 0, 100));
        const header: TarHeader = {
          path: name,
          type: type === "\0" ? "0" : type,
          mode: octal(block, 100, 8),
          uid: pax.uid !== undefined ? Number(pax.uid) : octal(block, 108, 8),
          gid: pax.gid !== undefined ? Number(pax.gid) : octal(block, 116, 8),
          size,
          linkTarget: pax.linkpath ?? longLink ?? str(block, 157, 100),
        };
        pax = {};
        longName = longLink = undefined;
        const result = onEntry(header);
        if (result === "stop") return;
        sink = result;
      }
    }
    if (remaining > 0 || meta) throw new RuntimeError("oci.tar-truncated", `${what} ends in the middle of an entry`);
  } finally {
    await reader.cancel().catch(() => {});
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function str(b: Uint8Array, off: number, width: number): string {
  let end = off;
  while (end < off + width && b[end] !== 0) end++;
  return decoder.decode(b.subarray(off, end));
}

function octal(b: Uint8Array, off: number, width: number): number {
  // Base-256 (GNU) numbers start with 0x80.
  if (b[off]! & 0x80) {
    let v = 0;
    for (let i = off + 1; i < off + width; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = str(b, off, width).trim();
  return s === "" ? 0 : Number.parseInt(s, 8);
}

function parsePax(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const bytes = new TextEncoder().encode(text);
  let off = 0;
  while (off < bytes.length) {
    const space = bytes.indexOf(0x20, off);
    if (space < 0) break;
    const len = Number(decoder.decode(bytes.subarray(off, space)));
    if (!len) break;
    const record = decoder.decode(bytes.subarray(space + 1, off + len - 1));
    const eq = record.indexOf("=");
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    off += len;
  }
  return out;
}
