/**
 * The document a registry record tag points at (registry_record.ts): a one-entry OCI index
 * whose entry is the recorded image, with the image's manifest and its config embedded
 * (descriptor `data`, OCI image-spec 1.1; the config in an annotation). A fresh machine then
 * verifies a record with the record's own GET: every embedded document is checked against the
 * digest that names it (the image's manifest against the entry's digest, the config against
 * the manifest's config digest), so nothing in it can be forged without the check failing.
 * The registry accepts the index only when the image it names exists in the repository.
 *
 * Records written before this format (the tag on the image manifest itself) still read: the
 * tag's document is then the image, and its config is fetched.
 */
import { MediaType, sha256 } from "../image/image.ts";
import { CHECKSUM_LABEL } from "./image_checksum.ts";

export const RECORD_ARTIFACT_TYPE = "application/vnd.dev.imgb.record.v1+json";
/** `{digest: base64}` of what the image's label check reads: its config (and an index's first manifest). */
export const EMBEDDED_ANNOTATION = "dev.imgb.record.embedded";

export interface RecordedImage {
  digest: string;
  bytes: Uint8Array;
  mediaType: string;
}

/** The record index of `image`, carrying `embedded` (digest -> bytes) and the checksum annotation. */
export function recordDocument(image: RecordedImage, checksum: string, embedded: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const doc = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    artifactType: RECORD_ARTIFACT_TYPE,
    manifests: [{ mediaType: image.mediaType, digest: image.digest, size: image.bytes.length, data: base64(image.bytes) }],
    annotations: { [CHECKSUM_LABEL]: checksum, [EMBEDDED_ANNOTATION]: JSON.stringify(Object.fromEntries([...embedded].map(([d, b]) => [d, base64(b)]))) },
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

export type ParsedRecord =
  /** Not a record index: a record of the old format (or a forged tag): the document is the image. */
  | { kind: "image" }
  | { kind: "record"; image: { digest: string; mediaType: string; bytes?: Uint8Array }; embedded: Map<string, Uint8Array> }
  /** A record index whose embedded manifest is not what its digest names. */
  | { kind: "corrupt"; digest: string; reason: string };

export function parseRecord(bytes: Uint8Array): ParsedRecord {
  const doc = parseJson(bytes);
  if (doc?.artifactType !== RECORD_ARTIFACT_TYPE || !Array.isArray(doc.manifests) || doc.manifests.length !== 1) return { kind: "image" };
  const entry = doc.manifests[0];
  if (typeof entry?.digest !== "string" || typeof entry.mediaType !== "string") return { kind: "image" };
  const image: { digest: string; mediaType: string; bytes?: Uint8Array } = { digest: entry.digest, mediaType: entry.mediaType };
  if (typeof entry.data === "string") {
    const data = Buffer.from(entry.data, "base64");
    if (sha256(data) !== entry.digest) return { kind: "corrupt", digest: entry.digest, reason: "its embedded manifest does not match that digest" };
    image.bytes = new Uint8Array(data);
  }
  const embedded = new Map<string, Uint8Array>();
  const listed = parseJson(new TextEncoder().encode(doc.annotations?.[EMBEDDED_ANNOTATION] ?? ""));
  if (listed && typeof listed === "object") {
    for (const [digest, data] of Object.entries(listed)) if (typeof data === "string") embedded.set(digest, new Uint8Array(Buffer.from(data, "base64")));
  }
  return { kind: "record", image, embedded };
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");

export function parseJson(bytes: Uint8Array): any {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
