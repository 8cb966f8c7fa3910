/**
 * What the docker flavor refuses about `platforms` before any build: several platforms without
 * a registry. docker 20.10's image store holds one image (one platform) per tag, so a
 * multi-platform image exists only as an index in a registry (multi_platform.ts).
 */
import type { StaticImage } from "../../src/builder/flavor.ts";
import { InputError } from "../../src/errors.ts";

export function platformsWithoutRegistry(image: StaticImage): InputError[] {
  if (new Set(image.platforms).size < 2 || image.containerRegistry !== undefined) return [];
  const listed = image.platforms.map((p) => `'${p}'`).join(", ");
  return [
    new InputError("build.platforms-need-registry", `The docker flavor builds image '${image.name}' for several platforms (${listed}) only into a registry: docker's image store holds one platform per tag, and without a container_registry there is nowhere to put the index`, {
      location: { path: `/images/${image.name}/platforms` },
      hint: "add a container_registry (each platform is pushed and one index is tagged), list one platform, or use podman/buildah, which keep a local manifest list",
    }),
  ];
}
