/**
 * Which references an image gets: its own tag and the stack's extra tags, under the registry's
 * repository when it is pushed.
 */
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { stripTag, tagOf, targetRepository } from "../../src/image/name.ts";

export interface ImageReferences {
  /** The reference the build tags first and the one returned / pushed for the digest. */
  primary: string;
  /** Every reference to tag (primary first), all pushed when a registry is given. */
  all: string[];
  /** `registry/repo` when pushing. */
  repository?: string;
}

/** The one parser's `tagOf`, re-exported for the engine builders that import it from here. */
export { tagOf };

/** `app` + tags [v1] -> app:latest, app:v1; with a registry: 127.0.0.1:5000/app:latest, …:v1. */
export function imageReferences(imageName: string, options: Pick<BuildOptions, "tags">, registry?: ContainerRegistry): ImageReferences {
  const repository = registry ? targetRepository(registry, imageName) : stripTag(imageName);
  const tags = [tagOf(imageName), ...options.tags];
  const all = [...new Set(tags.map((t) => `${repository}:${t}`))];
  return { primary: all[0]!, all, repository: registry ? repository : undefined };
}
