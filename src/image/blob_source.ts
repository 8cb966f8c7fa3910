/**
 * Where an output reads a blob from: its inline bytes, the file this build wrote, or the file a
 * base layer is downloaded to (once per build). Shared by the OCI layout and the docker-archive.
 */
import type { Blob } from "./built_image.ts";
import type { Registries } from "./remote/registries.ts";

/** The blob's bytes on disk (downloading a base layer when needed), or inline bytes. */
export async function blobSource(blob: Blob, registries: Registries): Promise<{ path?: string; bytes?: Uint8Array }> {
  if (blob.bytes) return { bytes: blob.bytes };
  if (blob.path) return { path: blob.path };
  return { path: await registries.blobFile(blob.descriptor.digest, blob.remote!) };
}

export const blobName = (digest: string) => `blobs/sha256/${digest.slice(7)}`;
