/**
 * Build reuse: an image whose checksum was built before is not built again, provided the
 * result still exists — verified every time, never trusted from the record alone:
 * a pushed image by its manifest digest in the registry, a local image by its engine ID.
 * The record lives in imgb's store; `--no-reuse` (no ReuseCache) always builds.
 */
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import { registryHost, type ContainerRegistry } from "../builder/container_registry.ts";
import type { BuildRecord, Store } from "../store/store.ts";

export interface ReuseCache {
  lookup(checksum: string): BuildRecord | undefined;
  record(record: BuildRecord): void;
  forget(checksum: string): void;
}

export function storeReuseCache(store: Store): ReuseCache {
  return { lookup: (c) => store.getBuild(c), record: (r) => store.putBuild(r), forget: (c) => store.deleteBuild(c) };
}

/** Does the recorded build still exist where it was put? */
export async function stillExists(rec: BuildRecord, builder: BaseImageBuilder, registry: ContainerRegistry | undefined, signal: AbortSignal): Promise<boolean> {
  const at = rec.ref.indexOf("@sha256:");
  if (at > 0) {
    if (!registry || !rec.digest) return false;
    return registryHasManifest(registry, rec.ref.slice(0, at), rec.digest, signal);
  }
  if (!builder.localImageId || !rec.imageId) return false;
  return (await builder.localImageId(rec.ref)) === rec.imageId;
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** HEAD /v2/<repo>/manifests/<digest>, answering a Basic or Bearer challenge once. */
export async function registryHasManifest(registry: ContainerRegistry, repository: string, digest: string, signal: AbortSignal): Promise<boolean> {
  const host = registryHost(registry);
  const repo = repository.slice(repository.indexOf("/") + 1);
  const url = `${registry.insecure ? "http" : "https"}://${host}/v2/${repo}/manifests/${digest}`;
  const basic = registry.credentials ? `Basic ${btoa(`${registry.credentials.username}:${registry.credentials.password.reveal()}`)}` : undefined;
  try {
    let res = await fetch(url, { method: "HEAD", headers: { Accept: ACCEPT }, signal });
    if (res.status === 401) {
      const auth = await answerChallenge(res.headers.get("www-authenticate") ?? "", basic, signal);
      if (!auth) return false;
      res = await fetch(url, { method: "HEAD", headers: { Accept: ACCEPT, Authorization: auth }, signal });
    }
    return res.status === 200 && (res.headers.get("docker-content-digest") ?? digest) === digest;
  } catch (e) {
    if (signal.aborted) throw e;
    return false; // unreachable registry: cannot verify, so build
  }
}

async function answerChallenge(header: string, basic: string | undefined, signal: AbortSignal): Promise<string | undefined> {
  if (/^basic/i.test(header)) return basic;
  if (!/^bearer/i.test(header)) return undefined;
  const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
  if (!params.realm) return undefined;
  const q = new URLSearchParams();
  if (params.service) q.set("service", params.service);
  if (params.scope) q.set("scope", params.scope);
  const res = await fetch(`${params.realm}?${q}`, { headers: basic ? { Authorization: basic } : {}, signal });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  return token ? `Bearer ${token}` : undefined;
}
