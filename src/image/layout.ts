/**
 * Image outputs on disk:
 * - an OCI image layout directory (`oci-layout`, `blobs/sha256/…`, `index.json`); an existing
 *   layout is added to (same tag: replaced), so several images can share one directory;
 * - a docker-archive tar (`manifest.json` + blobs) that `docker load` and `podman load` read;
 *   layers stay gzip-compressed (both decompress on load).
 * Both are written from the same blobs as a push, so their digests are the registry's.
 */
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { InputError, isDiskFull, RuntimeError, writeError } from "../errors.ts";
import { TarWriter, type TarEntry } from "../context/tar.ts";
import { MediaType, type Descriptor, type ImageIndex } from "./image.ts";
import { tagOf } from "./name.ts";
import type { Blob, BuiltImage } from "./built_image.ts";
import type { Registries } from "./remote/registries.ts";

/** The blob's bytes on disk (downloading a base layer when needed), or inline bytes. */
async function blobSource(blob: Blob, registries: Registries): Promise<{ path?: string; bytes?: Uint8Array }> {
  if (blob.bytes) return { bytes: blob.bytes };
  if (blob.path) return { path: blob.path };
  return { path: await registries.blobFile(blob.descriptor.digest, blob.remote!) };
}

const blobName = (digest: string) => `blobs/sha256/${digest.slice(7)}`;

export async function writeOciLayout(dir: string, images: readonly BuiltImage[], index: { bytes: Uint8Array; descriptor: Descriptor } | undefined, names: readonly string[], registries: Registries): Promise<void> {
  try {
    mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
    writeFileSync(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    const put = async (digest: string, src: { path?: string; bytes?: Uint8Array }) => {
      const target = join(dir, blobName(digest));
      if (existsSync(target)) return;
      try {
        if (src.bytes) writeFileSync(`${target}.tmp`, src.bytes);
        else copyFileSync(src.path!, `${target}.tmp`);
        renameSync(`${target}.tmp`, target);
      } catch (e) {
        try {
          rmSync(`${target}.tmp`, { force: true }); // a half-copied blob would look like a real one to the next run's rename
        } catch {
          // a read-only file system refuses even this; the error that matters is the one below
        }
        throw writeError(e, "an OCI layout blob", target);
      }
    };
    for (const image of images) {
      for (const blob of [...image.layers, image.config]) await put(blob.descriptor.digest, await blobSource(blob, registries));
      await put(image.manifest.descriptor.digest, { bytes: image.manifest.bytes });
    }
    if (index) await put(index.descriptor.digest, { bytes: index.bytes });
    const top = index?.descriptor ?? { ...images[0]!.manifest.descriptor };
    const indexPath = join(dir, "index.json");
    const existing: ImageIndex = existsSync(indexPath) ? (JSON.parse(readFileSync(indexPath, "utf8")) as ImageIndex) : { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    const tags = names.map(tagOf);
    existing.manifests = existing.manifests.filter((m) => !tags.includes(m.annotations?.["org.opencontainers.image.ref.name"] ?? ""));
    for (const name of names) {
      existing.manifests.push({ ...top, annotations: { "io.containerd.image.name": name, "org.opencontainers.image.ref.name": tagOf(name) } });
    }
    try {
      writeFileSync(`${indexPath}.tmp`, JSON.stringify(existing));
      renameSync(`${indexPath}.tmp`, indexPath);
    } catch (e) {
      try {
        rmSync(`${indexPath}.tmp`, { force: true });
      } catch {
        // a read-only file system refuses even this; the error that matters is the one below
      }
      throw writeError(e, "the OCI layout index", indexPath);
    }
  } catch (e) {
    if (e instanceof RuntimeError || e instanceof InputError) throw e;
    if (isDiskFull(e)) throw writeError(e, "the OCI layout", dir);
    throw new RuntimeError("oci.output", `Writing the OCI layout ${JSON.stringify(dir)} failed: ${(e as Error).message}`, { cause: e });
  }
}

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
