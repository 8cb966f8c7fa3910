/**
 * A docker-archive tar (`manifest.json` + blobs) that `docker load` and `podman load` read
 * (go-containerregistry's pkg/v1/tarball); layers stay gzip-compressed (both decompress on
 * load). Written from the same blobs as a push, so its digests are the registry's.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { isDiskFull, RuntimeError, writeError } from "../errors.ts";
import { TarWriter, type TarEntry } from "../context/tar.ts";
import { blobName, blobSource } from "./blob_source.ts";
import type { BuiltImage } from "./built_image.ts";
import type { Registries } from "./remote/registries.ts";

export async function writeDockerArchive(file: string, image: BuiltImage, names: readonly string[], mtime: number, registries: Registries): Promise<void> {
  const entries: TarEntry[] = [
    { path: "blobs", type: "dir", mode: 0o755, size: 0 },
    { path: "blobs/sha256", type: "dir", mode: 0o755, size: 0 },
  ];
  const seen = new Set<string>();
  for (const blob of [image.config, ...image.layers]) {
    if (seen.has(blob.descriptor.digest)) continue;
    seen.add(blob.descriptor.digest);
    const src = await blobSource(blob, registries);
    entries.push({ path: blobName(blob.descriptor.digest), type: "file", mode: 0o644, size: blob.descriptor.size, ...(src.path ? { source: src.path } : { data: src.bytes! }) });
  }
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const manifest = [{ Config: blobName(image.config.descriptor.digest), RepoTags: [...names], Layers: image.layers.map((l) => blobName(l.descriptor.digest)) }];
  const data = new TextEncoder().encode(JSON.stringify(manifest));
  entries.push({ path: "manifest.json", type: "file", mode: 0o644, size: data.length, data });
  const tmp = `${file}.imgb-tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    const fd = openSync(tmp, "w", 0o644);
    try {
      const tar = new TarWriter(entries, { mtime, reuseBuffer: true });
      for (let c = tar.next(); c; c = tar.next()) writeSync(fd, c);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // a read-only file system refuses even this; the error that matters is the one below
    }
    if (e instanceof RuntimeError) throw e;
    if (isDiskFull(e)) throw writeError(e, "the docker archive", file);
    throw new RuntimeError("oci.output", `Writing the docker archive ${JSON.stringify(file)} failed: ${(e as Error).message}`, { cause: e });
  }
}
