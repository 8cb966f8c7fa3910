/**
 * A multi-platform image assembled from manifests that are already in a registry (what `docker
 * buildx imagetools create` writes): one descriptor per platform manifest, with its platform, in
 * a Docker manifest list when every entry is a Docker schema 2 manifest (as buildx does: docker
 * 20.10 pushes those) and an OCI index otherwise. Pure: src/image/remote/create_index.ts fetches
 * the descriptors and PUTs the result.
 */
import { sortedRecord } from "./built_image.ts";
import { MediaType, sha256, type Descriptor, type ImageIndex } from "./image.ts";
import { platformString, type Platform } from "../platform.ts";
import { RuntimeError } from "../errors.ts";

/** One entry: the manifest's descriptor (mediaType, digest, size) and the platform its config says. */
export interface PlatformManifest {
  descriptor: Descriptor;
  platform: Platform;
  /** The config digest (an engine's image ID), when known: not part of the index. */
  config?: string;
}

const encoder = new TextEncoder();

/**
 * The index over `entries`, in the order given (the order of the stack's `platforms`), and its
 * descriptor. Two entries for one platform are refused: a client could not tell them apart.
 */
export function platformIndex(entries: readonly PlatformManifest[], annotations: Readonly<Record<string, string>> = {}): { bytes: Uint8Array; descriptor: Descriptor } {
  const seen = new Set<string>();
  for (const e of entries) {
    const p = platformString(e.platform);
    if (seen.has(p)) throw new RuntimeError("image.index-platform", `Two manifests for platform ${p} in one index: ${e.descriptor.digest} and another`);
    seen.add(p);
  }
  const docker = entries.length > 0 && entries.every((e) => e.descriptor.mediaType === MediaType.dockerManifest);
  const mediaType = docker ? MediaType.dockerList : MediaType.ociIndex;
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType,
    manifests: entries.map((e) => ({ mediaType: e.descriptor.mediaType, digest: e.descriptor.digest, size: e.descriptor.size, platform: descriptorPlatform(e.platform) })),
  };
  if (Object.keys(annotations).length > 0) index.annotations = sortedRecord(annotations);
  const bytes = encoder.encode(JSON.stringify(index));
  return { bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } };
}

/** `architecture`, `os`, then `variant` when there is one (the key order buildx writes). */
function descriptorPlatform(p: Platform): NonNullable<Descriptor["platform"]> {
  return p.variant ? { architecture: p.architecture, os: p.os, variant: p.variant } : { architecture: p.architecture, os: p.os };
}

/**
 * `os/arch[/variant]` -> manifest digest of the entries of an index or manifest list (its
 * bytes); undefined for anything else (a single image, not JSON).
 */
export function indexPlatforms(bytes: Uint8Array): Record<string, string> | undefined {
  let doc: Partial<ImageIndex>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes)) as Partial<ImageIndex>;
  } catch {
    return undefined;
  }
  if (!Array.isArray(doc.manifests)) return undefined;
  const out: Record<string, string> = {};
  for (const m of doc.manifests) if (m.platform) out[platformString(m.platform)] = m.digest;
  return out;
}
