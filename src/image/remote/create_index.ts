/**
 * `docker buildx imagetools create` with imgb's registry client: the manifests of one image's
 * platforms are already pushed to a repository (by tag or digest); fetch each one's descriptor
 * (media type, size, digest: from the bytes the registry serves) and its platform (from its
 * config blob), assemble the index (../platform_index.ts) and PUT it under every tag. Nothing
 * but manifests moves: the blobs are in the repository already.
 */
import { RuntimeError } from "../../errors.ts";
import { MediaType, sha256, type ImageConfig, type ImageManifest } from "../image.ts";
import { platformIndex, type PlatformManifest } from "../platform_index.ts";
import { platformString } from "../../platform.ts";
import type { RegistryClient } from "./client.ts";

const decoder = new TextDecoder();

/** The descriptor and platform of the manifest `digest` in `repo`, as an index entry needs them. */
export async function platformManifest(client: RegistryClient, repo: string, digest: string): Promise<PlatformManifest> {
  const { bytes, mediaType } = await client.manifestGet(repo, digest);
  const where = `${client.host}/${repo}@${digest}`;
  if (sha256(bytes) !== digest) throw new RuntimeError("registry.digest-mismatch", `Registry ${client.host} served bytes for ${where} whose digest is ${sha256(bytes)}`);
  let doc: ImageManifest;
  try {
    doc = JSON.parse(decoder.decode(bytes)) as ImageManifest;
  } catch {
    throw new RuntimeError("image.manifest", `The manifest ${where} is not JSON`);
  }
  const type = mediaType || doc.mediaType;
  if ((type !== MediaType.dockerManifest && type !== MediaType.ociManifest) || typeof doc.config?.digest !== "string") {
    throw new RuntimeError("image.manifest", `The manifest ${where} is not an image manifest (${type || "no media type"}): an index entry must be one platform's image`);
  }
  const config = JSON.parse(decoder.decode(await client.blobBytes(repo, doc.config.digest))) as ImageConfig;
  if (!config.os || !config.architecture) throw new RuntimeError("image.manifest", `The config of ${where} names no os/architecture`);
  const platform = config.variant ? { os: config.os, architecture: config.architecture, variant: config.variant } : { os: config.os, architecture: config.architecture };
  return { descriptor: { mediaType: type, digest, size: bytes.length }, platform, config: doc.config.digest };
}

export interface CreatedIndex {
  digest: string;
  mediaType: string;
  /** `os/arch[/variant]` -> manifest digest, in index order. */
  platforms: Record<string, string>;
}

/**
 * Assemble the index over `manifests` (digests in `repo`, in platform order) and PUT it under
 * each of `tags`, in order. Any tag written means every entry was readable: the PUTs come last.
 */
export async function createIndex(client: RegistryClient, repo: string, manifests: readonly string[], tags: readonly string[], annotations: Readonly<Record<string, string>> = {}): Promise<CreatedIndex> {
  return putIndex(client, repo, await Promise.all(manifests.map((d) => platformManifest(client, repo, d))), tags, annotations);
}

/** The index over `entries` (from platformManifest), PUT under each of `tags`. */
export async function putIndex(client: RegistryClient, repo: string, entries: readonly PlatformManifest[], tags: readonly string[], annotations: Readonly<Record<string, string>> = {}): Promise<CreatedIndex> {
  const index = platformIndex(entries, annotations);
  for (const tag of tags) {
    const put = await client.manifestPut(repo, tag, index.bytes, index.descriptor.mediaType);
    if (put && put !== index.descriptor.digest) throw new RuntimeError("registry.digest-mismatch", `Registry ${client.host} stored ${repo}:${tag} as ${put}, expected ${index.descriptor.digest}`);
  }
  const platforms: Record<string, string> = {};
  for (const e of entries) platforms[platformString(e.platform)] = e.descriptor.digest;
  return { digest: index.descriptor.digest, mediaType: index.descriptor.mediaType, platforms };
}
