/**
 * Will this run talk to the stack's container_registry? It does when the flavor pushes there
 * (the default), or when a base image of an image being built comes from it. Only then is the
 * registry probed before the first build: an oci build writing `oci-layout:` or
 * `docker-archive:` from public bases must not fail because the stack's registry is down.
 * When a Dockerfile cannot be read or parsed here, the answer is yes: probing is the safe side.
 */
import { readFileSync } from "node:fs";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import type { AnyFlavor } from "../builder/flavor.ts";
import { canonicalHost, parseReference, registryHost } from "../image/name.ts";
import { parseDockerfile } from "../dockerfile/parse.ts";
import { parsePlatform, planBuild } from "../dockerfile/stages.ts";
import type { ResolvedImage, ResolvedStack } from "../stack/model.ts";

export function usesStackRegistry(stack: ResolvedStack, flavor: AnyFlavor, images: readonly string[], registry: ContainerRegistry): boolean {
  if (flavor.pushesToRegistry?.(stack.imageBuilder.config) !== false) return true;
  const host = canonicalHost(registryHost(registry));
  return images.some((name) => {
    const bases = baseHosts(stack.images[name]!);
    return bases === undefined || bases.includes(host);
  });
}

/** The registry hosts of the image's base images (the stages its target needs), or undefined when unknown. */
function baseHosts(image: ResolvedImage): string[] | undefined {
  try {
    const text = image.dockerfileInline ?? readFileSync(image.dockerfile!, "utf8");
    const df = parseDockerfile(text, image.dockerfile ?? "Dockerfile");
    const plan = planBuild(df, image.buildArgs, parsePlatform(image.platforms[0] ?? "linux/amd64"), image.target);
    const hosts: string[] = [];
    for (const i of plan.order) {
      const base = plan.stages[i]!.base;
      if (base.kind === "image") hosts.push(canonicalHost(parseReference(base.ref).host));
    }
    return hosts;
  } catch {
    return undefined;
  }
}
