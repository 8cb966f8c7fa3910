/**
 * Asks a registry for the manifest digest of `repo:tag` (Distribution API `HEAD
 * /v2/<name>/manifests/<reference>`, header `Docker-Content-Digest`).
 *
 * Used only where the engine cannot tell: `podman --remote push` has no `--digestfile`. The
 * registry's own answer right after the push is the real digest (a concurrent push of the same
 * tag by someone else is the one race, and it is reported, not hidden: the digest is what the tag
 * points at).
 */
import { registryHost, type ContainerRegistry } from "../src/builder/container_registry.ts";
import { RuntimeError } from "../src/errors.ts";

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

/** Parses `Bearer realm="…",service="…",scope="…"`. */
function challenge(header: string): { scheme: string; params: Record<string, string> } {
  const scheme = header.split(" ")[0]!.toLowerCase();
  const params: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!;
  return { scheme, params };
}

function basic(registry: ContainerRegistry): string | undefined {
  const c = registry.credentials;
  return c ? `Basic ${btoa(`${c.username}:${c.password.reveal()}`)}` : undefined;
}

async function authorize(registry: ContainerRegistry, www: string, signal?: AbortSignal): Promise<string | undefined> {
  const { scheme, params } = challenge(www);
  if (scheme === "basic") return basic(registry);
  if (scheme !== "bearer" || !params.realm) return undefined;
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set("service", params.service);
  if (params.scope) url.searchParams.set("scope", params.scope);
  const auth = basic(registry);
  const res = await fetch(url, { headers: auth ? { Authorization: auth } : {}, signal });
  if (!res.ok) return undefined;
  const body = (await res.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  return token ? `Bearer ${token}` : undefined;
}

/** `sha256:…` of the manifest `repository:tag` points at; `repository` is `host/path`. */
export async function registryManifestDigest(registry: ContainerRegistry, repository: string, tag: string, signal?: AbortSignal): Promise<string> {
  const host = registryHost(registry);
  const name = repository.slice(host.length + 1);
  const schemes = registry.insecure ? ["https", "http"] : ["https"];
  let lastError = "";
  for (const scheme of schemes) {
    const url = `${scheme}://${host}/v2/${name}/manifests/${tag}`;
    const tls = registry.insecure ? { rejectUnauthorized: false } : undefined;
    try {
      let res = await fetch(url, { method: "HEAD", headers: { Accept: ACCEPT }, tls, signal });
      const www = res.headers.get("www-authenticate");
      if (res.status === 401 && www) {
        const auth = await authorize(registry, www, signal);
        if (auth) res = await fetch(url, { method: "HEAD", headers: { Accept: ACCEPT, Authorization: auth }, tls, signal });
      }
      const digest = res.headers.get("docker-content-digest");
      if (res.ok && digest && /^sha256:[0-9a-f]{64}$/.test(digest)) return digest;
      lastError = `${url} answered HTTP ${res.status}${digest ? "" : " without a Docker-Content-Digest header"}`;
    } catch (e) {
      if (signal?.aborted) throw e;
      lastError = `${url}: ${(e as Error).message}`;
    }
  }
  throw new RuntimeError("push.no-digest", `Pushed '${repository}:${tag}' but could not read its digest from the registry: ${lastError}`);
}
