/**
 * The registry as the build record every machine shares. When imgb pushes an image it also puts
 * a small record under the tag `<repo>:imgb-<hex of the checksum>`: a one-entry OCI index naming
 * the pushed manifest, with that manifest and the image's config embedded (_record_document.ts;
 * a manifest PUT, no blob moves). Any machine that computes the same checksum finds and verifies
 * it with one GET of that tag, like cosign's `sha256-<digest>.sig` tags.
 *
 * Why a tag and not an OCI referrer: a referrer points *from* an artifact *to* the image, so
 * finding it needs the image's digest first — exactly what the lookup does not know; and
 * registries without the referrers API (docker-registry 2.x, many mirrors) only offer the
 * tag-schema fallback, which is again a tag per subject digest. A tag keyed by the checksum is
 * one request on every registry. Why embed: the label check then needs no GET of the config,
 * so a hit costs two requests (this GET, the PUT of the image's tag), not three.
 *
 * A record is never trusted alone: the image's config must carry the `dev.imgb.checksum` label
 * equal to the checksum looked up, else it is a "mismatch" (a forged or stale tag) and the
 * caller builds. Embedded documents are checked against the digests that name them. Two
 * machines recording the same checksum at once both succeed: the last PUT wins, and both images
 * carry the label.
 */
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { ImgbError, RuntimeError } from "../errors.ts";
import { MediaType, sha256 } from "../image/image.ts";
import { inRegistry } from "../image/name.ts";
import { registryClient, type RegistryClient } from "../image/remote/client.ts";
import { CHECKSUM_LABEL } from "./image_checksum.ts";
import { parseJson, parseRecord, recordDocument } from "./_record_document.ts";

export const RECORD_TAG_PREFIX = "imgb-";

/** `sha256:<hex>` -> `imgb-<hex>` (69 characters: a valid tag). */
export function recordTag(checksum: string): string {
  return `${RECORD_TAG_PREFIX}${checksum.replace(/^sha256:/, "")}`;
}

export const isRecordTag = (tag: string) => /^imgb-[0-9a-f]{64}$/.test(tag);

export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
}

export type RecordLookup =
  | { kind: "hit"; digest: string; manifest: FetchedManifest }
  | { kind: "miss" }
  | { kind: "mismatch"; digest: string; reason: string };

/** The repository path inside the registry of `repository` (`host/path`). */
function repoPath(registry: ContainerRegistry, repository: string): string {
  const name = inRegistry(registry, repository);
  if (!name) throw new RuntimeError("reuse.registry", `Repository ${repository} is not in the stack's registry ${registry.uri}`);
  return name.repository;
}

/**
 * Record that `digest` (already pushed to `repository`) was built with `checksum`. A registry
 * that refuses the record index (one that knows no OCI index) gets the old record: the image's
 * own manifest under the record tag, whose lookup then also fetches the config.
 */
export async function writeRecord(registry: ContainerRegistry, repository: string, digest: string, checksum: string, signal: AbortSignal, fetched?: FetchedManifest): Promise<void> {
  const repo = repoPath(registry, repository);
  const client = registryClient(registry, signal);
  const manifest = fetched ?? (await client.manifestGet(repo, digest));
  const embedded = new Map<string, Uint8Array>();
  await configLabel(manifest.bytes, async (d, kind) => {
    const bytes = kind === "manifest" ? (await client.manifestGet(repo, d)).bytes : await client.blobBytes(repo, d);
    embedded.set(d, bytes);
    return bytes;
  });
  const record = recordDocument({ digest, ...manifest }, checksum, embedded);
  let put: string;
  try {
    put = await client.manifestPut(repo, recordTag(checksum), record, MediaType.ociIndex);
  } catch (e) {
    if (!(e instanceof ImgbError && e.code === "registry.failed")) throw e;
    put = await client.manifestPut(repo, recordTag(checksum), manifest.bytes, manifest.mediaType);
    if (put && put !== digest) throw new RuntimeError("reuse.record", `Registry ${registry.uri} stored the record tag of ${digest} as ${put}`);
    return;
  }
  if (put && put !== sha256(record)) throw new RuntimeError("reuse.record", `Registry ${registry.uri} stored the record of ${digest} as ${put}, not as written`);
}

/**
 * Look `checksum` up in `repository`: GET the record tag, read the image's manifest and config
 * from it (verified by digest), compare the label. One request; an old record (the image's own
 * manifest under the tag) costs one more for its config, two for an index.
 */
export async function lookupRecord(registry: ContainerRegistry, repository: string, checksum: string, signal: AbortSignal): Promise<RecordLookup> {
  const repo = repoPath(registry, repository);
  const client = registryClient(registry, signal);
  let fetched: FetchedManifest;
  try {
    fetched = await client.manifestGet(repo, recordTag(checksum));
  } catch (e) {
    if (e instanceof ImgbError && e.code === "registry.not-found") return { kind: "miss" };
    throw e;
  }
  const record = parseRecord(fetched.bytes);
  if (record.kind === "corrupt") return { kind: "mismatch", digest: record.digest, reason: record.reason };
  const embedded = record.kind === "record" ? record.embedded : new Map<string, Uint8Array>();
  const digest = record.kind === "record" ? record.image.digest : sha256(fetched.bytes);
  let manifest = fetched;
  let label: string | undefined;
  try {
    if (record.kind === "record") manifest = { bytes: record.image.bytes ?? verified(await client.manifestGet(repo, digest), digest).bytes, mediaType: record.image.mediaType };
    label = await configLabel(manifest.bytes, async (d, kind) => {
      const known = embedded.get(d);
      if (known) return verified({ bytes: known, mediaType: "" }, d).bytes;
      return kind === "manifest" ? verified(await client.manifestGet(repo, d), d).bytes : await client.blobBytes(repo, d);
    });
  } catch (e) {
    // A record whose image or config is gone (deleted, half-pruned) or altered is no record: build.
    if (e instanceof ImgbError && (e.code === "registry.not-found" || e.code === "registry.digest-mismatch")) return { kind: "mismatch", digest, reason: `its image cannot be read (${e.message})` };
    throw e;
  }
  if (label === checksum) return { kind: "hit", digest, manifest };
  const reason = label === undefined ? `its image has no ${CHECKSUM_LABEL} label` : `its image's ${CHECKSUM_LABEL} label is ${label}`;
  return { kind: "mismatch", digest, reason };
}

function verified(m: FetchedManifest, digest: string): FetchedManifest {
  const actual = sha256(m.bytes);
  if (actual !== digest) throw new RuntimeError("registry.digest-mismatch", `Document ${digest} has digest ${actual}`);
  return m;
}

/** The checksum label of the image whose manifest (or index: its first image) is `bytes`; `read` gets a document by digest. */
async function configLabel(bytes: Uint8Array, read: (digest: string, kind: "manifest" | "blob") => Promise<Uint8Array>): Promise<string | undefined> {
  let doc = parseJson(bytes);
  if (Array.isArray(doc?.manifests)) {
    const first = doc.manifests[0]?.digest;
    if (typeof first !== "string") return undefined;
    doc = parseJson(await read(first, "manifest"));
  }
  const config = doc?.config?.digest;
  if (typeof config !== "string") return undefined;
  const image = parseJson(await read(config, "blob"));
  const label = image?.config?.Labels?.[CHECKSUM_LABEL];
  return typeof label === "string" ? label : undefined;
}
