/**
 * An OCI image layout directory (`oci-layout`, `blobs/sha256/…`, `index.json`); an existing
 * layout is added to (same tag: replaced), so several images can share one directory. Written
 * from the same blobs as a push, so its digests are the registry's.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, isDiskFull, RuntimeError, writeError } from "../errors.ts";
import { blobName, blobSource } from "./blob_source.ts";
import type { BuiltImage } from "./built_image.ts";
import { MediaType, type Descriptor, type ImageIndex } from "./image.ts";
import { tagOf } from "./name.ts";
import type { Registries } from "./remote/registries.ts";

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
