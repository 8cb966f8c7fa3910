/**
 * Asks a registry for the manifest digest of `repo:tag` (Distribution API `HEAD
 * /v2/<name>/manifests/<reference>`, header `Docker-Content-Digest`).
 *
 * Used only where the engine cannot tell: `podman --remote push` has no `--digestfile`. The
 * registry's own answer right after the push is the real digest (a concurrent push of the same
 * tag by someone else is the one race, and it is reported, not hidden: the digest is what the tag
 * points at).
 */
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { inRegistry } from "../../src/image/name.ts";
import { registryClient } from "../../src/image/remote/client.ts";
import { RuntimeError } from "../../src/errors.ts";

/** `sha256:…` of the manifest `repository:tag` points at; `repository` is `host/path`. */
export async function registryManifestDigest(registry: ContainerRegistry, repository: string, tag: string, signal?: AbortSignal): Promise<string> {
  const name = inRegistry(registry, repository);
  if (!name) throw new RuntimeError("push.no-digest", `Pushed '${repository}:${tag}' but it is not in the stack's registry ${registry.uri}: its digest cannot be read`);
  let problem: string;
  try {
    const info = await registryClient(registry, signal).manifestHead(name.repository, tag);
    if (info && /^sha256:[0-9a-f]{64}$/.test(info.digest)) return info.digest;
    problem = info ? "the registry sent no Docker-Content-Digest header" : "the registry has no such manifest";
  } catch (e) {
    if (signal?.aborted) throw e;
    problem = (e as Error).message;
  }
  throw new RuntimeError("push.no-digest", `Pushed '${repository}:${tag}' but could not read its digest from the registry: ${problem}`);
}
