/**
 * The platforms of a reused multi-platform image, for the metadata file (`platforms`: platform
 * -> manifest digest), read from its index: the manifest a registry record hit already fetched,
 * else one GET by digest. Single-platform images have none. A registry that cannot answer
 * leaves them out with a warning saying so (the reuse itself was verified before): never a
 * metadata file that silently lacks them.
 */
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { inRegistry } from "../image/name.ts";
import { indexPlatforms } from "../image/platform_index.ts";
import { registryClient } from "../image/remote/client.ts";
import type { FetchedManifest } from "./registry_record.ts";

export async function reusedPlatforms(registry: ContainerRegistry | undefined, ref: string, digest: string | undefined, signal: AbortSignal, warn: (message: string) => void, fetched?: FetchedManifest): Promise<Record<string, string> | undefined> {
  if (fetched) return indexPlatforms(fetched.bytes);
  const name = registry && digest ? inRegistry(registry, ref) : undefined;
  if (!name) return undefined;
  try {
    return indexPlatforms((await registryClient(registry!, signal).manifestGet(name.repository, digest!)).bytes);
  } catch (e) {
    if (signal.aborted) throw e;
    warn(`the platforms of ${ref} are left out of the metadata: reading its index failed: ${(e as Error).message}`);
    return undefined;
  }
}
