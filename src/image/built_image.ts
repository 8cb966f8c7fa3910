/**
 * The documents of a built image: config and manifest (the index over several platforms is
 * index.ts). Serialised once, with keys in a fixed order, so the same inputs give the same
 * bytes and digests. Blobs know where their bytes are: a local file, inline bytes, or a registry.
 */
import { MediaType, sha256, type Descriptor, type ImageConfig, type ImageManifest } from "./image.ts";
import type { RemoteBlob } from "./remote/registries.ts";
import type { Platform } from "../platform.ts";

export interface Blob {
  descriptor: Descriptor;
  /** Local file (a layer written by this build, or downloaded). */
  path?: string;
  /** Small documents (the config). */
  bytes?: Uint8Array;
  /** Where to fetch or mount it from. */
  remote?: RemoteBlob;
}

export interface BuiltImage {
  platform: Platform;
  config: Blob & { bytes: Uint8Array };
  layers: Blob[];
  manifest: { bytes: Uint8Array; descriptor: Descriptor };
  /** The parsed config, for docker-archive's RepoTags and tests. */
  image: ImageConfig;
}

const encoder = new TextEncoder();

/** `annotations` go on the manifest (left out when empty, so an image without them keeps its digest). */
export function assembleImage(image: ImageConfig, layers: Blob[], platform: Platform, annotations: Readonly<Record<string, string>> = {}): BuiltImage {
  const configBytes = encoder.encode(JSON.stringify(image));
  const config = { descriptor: { mediaType: MediaType.ociConfig, digest: sha256(configBytes), size: configBytes.length }, bytes: configBytes };
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.ociManifest, config: config.descriptor, layers: layers.map((l) => l.descriptor) };
  if (Object.keys(annotations).length > 0) manifest.annotations = sortedRecord(annotations);
  const bytes = encoder.encode(JSON.stringify(manifest));
  const descriptor: Descriptor = { mediaType: MediaType.ociManifest, digest: sha256(bytes), size: bytes.length, platform: { architecture: platform.architecture, os: platform.os } };
  if (platform.variant) descriptor.platform!.variant = platform.variant;
  return { platform, config, layers, manifest: { bytes, descriptor }, image };
}

/** `1970-01-01T00:00:00Z` style, from seconds since the epoch (SOURCE_DATE_EPOCH). */
export function createdAt(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** Keys in sorted order: the same annotations give the same bytes. */
export function sortedRecord(m: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]!]));
}
