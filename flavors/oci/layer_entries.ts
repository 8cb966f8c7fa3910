/**
 * One gzip layer blob read entry by entry with the OCI whiteout rules decoded: `.wh..wh..opq`
 * (an opaque directory), `.wh.NAME` (NAME deleted) and ordinary entries. The evaluator's file
 * tree (tree.ts) and the RUN root filesystem (rootfs.ts) apply layers through it.
 */
import { posix } from "node:path";
import { readTar, type TarHeader } from "../../src/image/tar_reader.ts";

export interface LayerVisitor {
  /** `dir` ("" for the root) is opaque: lower layers' contents below it are hidden. */
  opaque(dir: string): void;
  /** `path` and what is below it are deleted. */
  whiteout(path: string): void;
  /** An ordinary entry at `path`; return a sink for its content, if wanted. */
  entry(path: string, header: TarHeader): ((chunk: Uint8Array) => void) | undefined;
}

export async function readLayerBlob(blob: string, visit: LayerVisitor): Promise<void> {
  await readTar(
    Bun.file(blob).stream().pipeThrough(new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>),
    (h) => {
      const path = normalize(h.path);
      if (path === "") return undefined;
      const base = posix.basename(path);
      const parent = posix.dirname(path) === "." ? "" : posix.dirname(path);
      if (base === ".wh..wh..opq") {
        visit.opaque(parent);
        return undefined;
      }
      if (base.startsWith(".wh.")) {
        visit.whiteout(parent === "" ? base.slice(4) : `${parent}/${base.slice(4)}`);
        return undefined;
      }
      return visit.entry(path, h);
    },
    `Layer ${blob}`,
  );
}

/** A tar entry's path as a relative, clean path ("" for the root itself). */
export function normalize(path: string): string {
  const p = posix.normalize(`/${path}`).slice(1);
  return p.endsWith("/") ? p.slice(0, -1) : p;
}
