/**
 * The registry as the build record every machine shares. When imgb pushes an image it also tags
 * the pushed manifest `<repo>:imgb-<hex of the checksum>` (a manifest PUT by tag, the bytes it
 * already has: no blob moves). Any machine that computes the same checksum finds it with one GET
 * of that tag, like cosign's `sha256-<digest>.sig` tags.
 *
 * Why a tag and not an OCI referrer or an annotation: a referrer points *from* an artifact *to*
 * the image, so finding it needs the image's digest first — exactly what the lookup does not
 * know; and registries without the referrers API (docker-registry 2.x, many mirrors) only offer
 * the tag-schema fallback, which is again a tag per subject digest. A tag keyed by the checksum
 * is one request on every registry, needs no new blob and no extra storage.
 *
 * A record is never trusted alone: the image's config must carry the `dev.imgb.checksum` label
 * equal to the checksum looked up, else it is a "mismatch" (a forged or stale tag) and the
 * caller builds. Two machines recording the same checksum at once both succeed: the last PUT
 * wins, and both images carry the label.
 */
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { ImgbError, RuntimeError } from "../errors.ts";
import { inRegistry } from "../image/name.ts";
import { registryClient, type RegistryClient } from "../image/remote/client.ts";
import { CHECKSUM_LABEL } from "./image_checksum.ts";

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

/** Record that `digest` (already pushed to `repository`) was built with `checksum`. */
export async function writeRecord(registry: ContainerRegistry, repository: string, digest: string, checksum: string, signal: AbortSignal, fetched?: FetchedManifest): Promise<void> {
  const repo = repoPath(registry, repository);
  const client = registryClient(registry, signal);
  const manifest = fetched ?? (await client.manifestGet(repo, digest));
  const put = await client.manifestPut(repo, recordTag(checksum), manifest.bytes, manifest.mediaType);
  if (put && put !== digest) throw new RuntimeError("reuse.record", `Registry ${registry.uri} stored the record tag of ${digest} as ${put}`);
}

/**
 * Look `checksum` up in `repository`: GET the record tag (the manifest itself, so the digest is
 * computed here and the bytes serve the re-tagging), GET its config, compare the label. Two
 * requests for an image manifest, three for an index (its first image carries the label too).
 */
export async function lookupRecord(registry: ContainerRegistry, repository: string, checksum: string, signal: AbortSignal): Promise<RecordLookup> {
  const repo = repoPath(registry, repository);
  const client = registryClient(registry, signal);
  let manifest: FetchedManifest;
  try {
    manifest = await client.manifestGet(repo, recordTag(checksum));
  } catch (e) {
    if (e instanceof ImgbError && e.code === "registry.not-found") return { kind: "miss" };
    throw e;
  }
  const digest = `sha256:${new Bun.CryptoHasher("sha256").update(manifest.bytes).digest("hex")}`;
  let label: string | undefined;
  try {
    label = await configLabel(client, repo, manifest.bytes);
  } catch (e) {
    // A record whose image or config is gone (deleted, half-pruned) is no record: build.
    if (e instanceof ImgbError && (e.code === "registry.not-found" || e.code === "registry.digest-mismatch")) return { kind: "mismatch", digest, reason: `its image cannot be read (${e.message})` };
    throw e;
  }
  if (label === checksum) return { kind: "hit", digest, manifest };
  const reason = label === undefined ? `its image has no ${CHECKSUM_LABEL} label` : `its image's ${CHECKSUM_LABEL} label is ${label}`;
  return { kind: "mismatch", digest, reason };
}

async function configLabel(client: RegistryClient, repo: string, bytes: Uint8Array): Promise<string | undefined> {
  let doc = parse(bytes);
  if (Array.isArray(doc?.manifests)) {
    const first = doc.manifests[0]?.digest;
    if (typeof first !== "string") return undefined;
    doc = parse((await client.manifestGet(repo, first)).bytes);
  }
  const config = doc?.config?.digest;
  if (typeof config !== "string") return undefined;
  const image = parse(await client.blobBytes(repo, config));
  const label = image?.config?.Labels?.[CHECKSUM_LABEL];
  return typeof label === "string" ? label : undefined;
}

function parse(bytes: Uint8Array): any {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
