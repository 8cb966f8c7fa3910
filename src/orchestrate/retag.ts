/**
 * Tags are destinations, not inputs: a reused image must end up under every tag the build asks
 * for, wherever those tags point now (moved by another push, never set because the tag list
 * changed). A pushed image is re-tagged over the registry API — the manifest is fetched by
 * digest, with its media type, and PUT under each tag, so no blob moves and the digest stays —
 * a local image with the builder's `tagImage`.
 */
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { parseReference, registryHost, splitReference } from "../image/name.ts";
import { registryClient, type ManifestInfo, type RegistryClient } from "../image/remote/client.ts";
import { RuntimeError } from "../errors.ts";
import type { BuildRecord } from "../store/store.ts";
import type { FetchedManifest } from "./registry_record.ts";

/**
 * What the registry said about destination tags (`repo:tag` -> HEAD), asked early in a run that
 * may reuse (startTagHeads): the answers are in by the time a reused image's tags are written.
 * Each answer is used once; one that failed is asked again.
 */
export type TagHeads = Map<string, Promise<ManifestInfo | undefined>>;

/** HEAD each of `destinations` (`host/repo:tag` in the stack's registry) into `heads`, in the background. */
export function startTagHeads(registry: ContainerRegistry, destinations: readonly string[], heads: TagHeads, signal: AbortSignal): void {
  const client = registryClient(registry, signal);
  for (const d of destinations) {
    const { repository: repo, tag = "latest" } = parseReference(d);
    const key = `${repo}:${tag}`;
    if (heads.has(key)) continue;
    const head = client.manifestHead(repo, tag);
    head.catch(() => {}); // asked again when used
    heads.set(key, head);
  }
}

/** Can a reused `rec` be given its tags here? (Else it is built, which tags it.) */
export function canRetag(rec: BuildRecord, builder: BaseImageBuilder, registry: ContainerRegistry | undefined): boolean {
  if (isPushed(rec)) return registry !== undefined && rec.digest !== undefined;
  return builder.tagImage !== undefined && rec.imageId !== undefined;
}

/**
 * Point every destination (`repo:tag`) at the recorded image. `fetched`: the manifest is already
 * here (a registry record hit): no GET. Each tag is asked for first (HEAD) and written only when
 * it points elsewhere: an unchanged stack's tags are usually where the last push left them, and
 * a registry answers a HEAD in a fraction of a manifest PUT's time (which writes its files).
 */
export async function retag(rec: BuildRecord, destinations: readonly string[], builder: BaseImageBuilder, registry: ContainerRegistry | undefined, signal: AbortSignal, fetched?: FetchedManifest, heads?: TagHeads): Promise<void> {
  if (!isPushed(rec)) {
    await builder.tagImage!(rec.imageId!, destinations);
    return;
  }
  const host = registryHost(registry!);
  const client = registryClient(registry!, signal);
  const byRepo = new Map<string, string[]>();
  for (const d of destinations) {
    const { repository: repo, tag = "latest" } = parseReference(d);
    byRepo.set(repo, [...(byRepo.get(repo) ?? []), tag]);
  }
  for (const [repo, tags] of byRepo) {
    const manifest = fetched ?? (await client.manifestGet(repo, rec.digest!));
    for (const tag of tags) {
      if ((await headOf(client, repo, tag, heads))?.digest === rec.digest) continue; // already there: no write
      const put = await client.manifestPut(repo, tag, manifest.bytes, manifest.mediaType);
      if (put && put !== rec.digest) {
        throw new RuntimeError("reuse.retag", `Registry ${host} stored ${repo}:${tag} as ${put} instead of the reused ${rec.digest}`, {
          hint: "the registry rewrote the manifest; run with --no-reuse to build and push it again",
        });
      }
    }
  }
}

/** The early answer for `repo:tag` if there is one (used once), else a HEAD now. */
function headOf(client: RegistryClient, repo: string, tag: string, heads: TagHeads | undefined): Promise<ManifestInfo | undefined> {
  const key = `${repo}:${tag}`;
  const early = heads?.get(key);
  heads?.delete(key);
  return early ? early.catch(() => client.manifestHead(repo, tag)) : client.manifestHead(repo, tag);
}

const isPushed = (rec: BuildRecord) => splitReference(rec.ref).digest !== undefined;
