/**
 * Push built images to a registry: every blob first (skipped when the repository has it,
 * mounted from the base's repository when it lives on the same registry, else uploaded from
 * disk), then the platform manifests by digest, then the tags last. A push that fails midway
 * leaves no tag pointing at a manifest with missing blobs: the registry only ever sees a
 * manifest once everything it references is there.
 */
import { RuntimeError } from "../../errors.ts";
import type { Blob, BuiltImage } from "../built_image.ts";
import type { Registries } from "./registries.ts";
import { RegistryError } from "./client.ts";
import { MediaType } from "../image.ts";

export interface PushTarget {
  host: string;
  repository: string;
  tags: readonly string[];
}

const CONCURRENCY = 4;

export async function pushImages(registries: Registries, target: PushTarget, images: readonly BuiltImage[], index: { bytes: Uint8Array; descriptor: { digest: string } } | undefined, log: (line: string) => void): Promise<string> {
  const client = registries.client(target.host);
  const repo = target.repository;
  const blobs = new Map<string, Blob>();
  for (const image of images) for (const b of [...image.layers, image.config]) blobs.set(b.descriptor.digest, b);

  // A registry that cannot say whether it has a blob (a 5xx on HEAD) gets it uploaded, as docker
  // does: the reference registry answers 500 for a repository link left empty by a crash, and
  // only a completed upload writes that link again.
  const blobPresent = (digest: string) =>
    client.blobExists(repo, digest).catch((e) => {
      if (!(e instanceof RegistryError && e.status >= 500)) throw e;
      log(`cannot tell whether ${target.host} has ${digest.slice(7, 19)} (${e.message.replace(/^Registry \S+ /, "")}): uploading it`);
      return false;
    });
  const pushBlob = async (blob: Blob) => {
    const { digest, size } = blob.descriptor;
    if (await blobPresent(digest)) return;
    if (blob.remote && blob.remote.host === target.host && blob.remote.repository !== repo) {
      if (await client.blobMount(repo, digest, blob.remote.repository)) {
        log(`mounted ${digest.slice(7, 19)} from ${blob.remote.repository}`);
        return;
      }
    }
    const path = blob.path ?? (blob.remote && !blob.bytes ? await registries.blobFile(digest, blob.remote) : undefined);
    log(`uploading ${digest.slice(7, 19)} (${formatSize(size)})`);
    await client.blobUpload(repo, digest, blob.bytes ?? { path: path!, size });
  };
  const queue = [...blobs.values()];
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
      for (let b = queue.shift(); b; b = queue.shift()) await pushBlob(b);
    }),
  );

  let top: { bytes: Uint8Array; digest: string; mediaType: string };
  if (index) {
    for (const image of images) await putManifest(image.manifest.bytes, image.manifest.descriptor.digest, MediaType.ociManifest, image.manifest.descriptor.digest);
    top = { bytes: index.bytes, digest: index.descriptor.digest, mediaType: MediaType.ociIndex };
  } else {
    const only = images[0]!;
    top = { bytes: only.manifest.bytes, digest: only.manifest.descriptor.digest, mediaType: MediaType.ociManifest };
  }
  for (const tag of target.tags) await putManifest(top.bytes, tag, top.mediaType, top.digest);
  return top.digest;

  async function putManifest(bytes: Uint8Array, reference: string, mediaType: string, expected: string) {
    const digest = await client.manifestPut(repo, reference, bytes, mediaType);
    if (digest && digest !== expected) {
      throw new RuntimeError("oci.push-digest", `Registry ${target.host} stored ${repo}:${reference} as ${digest}, expected ${expected}`);
    }
  }
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
