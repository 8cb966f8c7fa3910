/**
 * An OCI image index (manifest list) over the platform manifests of one build, serialised once
 * so the same manifests give the same bytes and digest. Multi-platform pushes and layouts use it.
 */
import { sortedRecord, type BuiltImage } from "./built_image.ts";
import { MediaType, sha256, type Descriptor, type ImageIndex } from "./image.ts";

const encoder = new TextEncoder();

/** `annotations` go on the index too (as buildx's `index:` annotations), left out when empty. */
export function assembleIndex(images: readonly BuiltImage[], annotations: Readonly<Record<string, string>> = {}): { bytes: Uint8Array; descriptor: Descriptor } {
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: images.map((i) => i.manifest.descriptor) };
  if (Object.keys(annotations).length > 0) index.annotations = sortedRecord(annotations);
  const bytes = encoder.encode(JSON.stringify(index));
  return { bytes, descriptor: { mediaType: MediaType.ociIndex, digest: sha256(bytes), size: bytes.length } };
}
