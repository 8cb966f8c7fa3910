/**
 * The images a build starts FROM, and what they are right now, for the image checksum: a
 * rebuilt or re-tagged base must not let an old build be reused. Each FROM reference of the
 * stages the target needs (ARGs substituted like BuildKit) is resolved to the engine's local
 * image ID when the builder can tell, else — for bases in the stack's own registry — to the
 * registry's manifest digest. A base that cannot be resolved counts as unknown (null); a
 * Dockerfile imgb cannot parse leaves the decision to the context digest alone.
 */
import { readFileSync } from "node:fs";
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import type { BuildOptions } from "../builder/build_options.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import type { ContextEntry, ImageBuildContext } from "../builder/build_context.ts";
import { registryClient } from "../image/remote/client.ts";
import { isHelperFailure } from "../image/remote/credential_helper.ts";
import { inRegistry, referenceTarget, splitReference } from "../image/name.ts";
import { parseDockerfile } from "../dockerfile/parse.ts";
import { parsePlatform, planBuild } from "../dockerfile/stages.ts";

export async function baseImageDigests(
  context: ImageBuildContext,
  entries: readonly ContextEntry[],
  options: BuildOptions,
  builder: BaseImageBuilder,
  registry: ContainerRegistry | undefined,
  signal: AbortSignal,
): Promise<Record<string, string | null>> {
  const refs = baseRefs(context, entries, options);
  const out: Record<string, string | null> = {};
  for (const ref of refs) out[ref] = await resolveBase(ref, builder, registry, signal);
  return out;
}

function baseRefs(context: ImageBuildContext, entries: readonly ContextEntry[], options: BuildOptions): string[] {
  try {
    const entry = entries.find((e) => e.path === context.dockerfile);
    if (!entry) return [];
    const text = entry.content ? new TextDecoder().decode(entry.content) : entry.source ? readFileSync(entry.source, "utf8") : "";
    const df = parseDockerfile(text, context.dockerfile);
    const plan = planBuild(df, options.buildArgs, parsePlatform(options.platforms[0] ?? "linux/amd64"), options.target);
    const refs = new Set<string>();
    for (const i of plan.order) {
      const base = plan.stages[i]!.base;
      if (base.kind === "image") refs.add(base.ref);
    }
    return [...refs].sort();
  } catch {
    return []; // the engine will say what is wrong with the Dockerfile
  }
}

async function resolveBase(ref: string, builder: BaseImageBuilder, registry: ContainerRegistry | undefined, signal: AbortSignal): Promise<string | null> {
  const pinned = splitReference(ref).digest;
  if (pinned !== undefined && /^sha256:[0-9a-f]{64}$/.test(pinned)) return pinned;
  const local = await builder.localImageId?.(ref).catch(() => undefined);
  if (local) return local;
  const name = registry && inRegistry(registry, ref);
  if (!name) return null;
  try {
    return (await registryClient(registry, signal).manifestHead(name.repository, referenceTarget(name)))?.digest || null;
  } catch (e) {
    if (signal.aborted || isHelperFailure(e)) throw e; // the build would fail on it too: say it once, now
    return null;
  }
}
