/**
 * The images a build starts FROM, and what they are right now, for the image checksum: a
 * rebuilt or re-tagged base must not let an old build be reused. Each FROM reference of the
 * stages the target needs (ARGs substituted like BuildKit) is resolved, in this order, to: the
 * digest it pins; the manifest digest in its own registry (the stack's credentials for the
 * stack's registry, else a docker config.json login) — the same answer on every machine, with
 * nothing pulled; the engine's local image ID when no registry answers (a base that exists only
 * here). A base that cannot be resolved counts as unknown (null); a Dockerfile imgb cannot parse
 * leaves the decision to the context digest alone.
 *
 * Only pinned and registry answers are machine-independent: an image with a base known only
 * locally (or not at all), or whose local copy is not the registry's image, is not looked up
 * in, nor recorded to, the registry (`notPortable` of prepare.ts).
 */
import { readFileSync } from "node:fs";
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import type { BuildOptions } from "../builder/build_options.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import type { ContextEntry, ImageBuildContext } from "../builder/build_context.ts";
import { Registries } from "../image/remote/registries.ts";
import { parseReference, referenceTarget, splitReference, stripTag } from "../image/name.ts";
import { isHelperFailure } from "../image/remote/credential_helper.ts";
import { parseDockerfile } from "../dockerfile/parse.ts";
import { parsePlatform, planBuild } from "../dockerfile/stages.ts";

/** A registry lookup of a base waits at most this long: a registry that hangs means "unknown". */
export const BASE_LOOKUP_TIMEOUT_MS = 10_000;

export interface BaseImages {
  /** FROM reference -> digest or image ID (null: unknown). */
  digests: Record<string, string | null>;
  /** Why the checksum is machine-dependent (a base known only locally, or not at all); empty when it is not. */
  unresolved: string[];
}

/** Registry answers of one run, by reference: eight images FROM one base ask once. */
export type BaseLookupCache = Map<string, Promise<string | undefined>>;

export async function baseImageDigests(
  context: ImageBuildContext,
  entries: readonly ContextEntry[],
  options: BuildOptions,
  builder: BaseImageBuilder,
  registry: ContainerRegistry | undefined,
  signal: AbortSignal,
  cache: BaseLookupCache = new Map(),
): Promise<BaseImages> {
  const refs = baseRefs(context, entries, options);
  const out: BaseImages = { digests: {}, unresolved: [] };
  for (const ref of refs) {
    const pinned = splitReference(ref).digest;
    if (pinned !== undefined && /^sha256:[0-9a-f]{64}$/.test(pinned)) {
      out.digests[ref] = pinned;
      continue;
    }
    let remote = cache.get(ref);
    if (!remote) cache.set(ref, (remote = registryDigest(ref, registry, signal)));
    const digest = await remote;
    const local = await builder.localImageId?.(ref).catch(() => undefined);
    if (digest) {
      // The engine builds FROM its local copy (unless it pulls): one that is not the registry's
      // image (an old pull, a local rebuild) would be built on while the checksum named another
      // base. Then the local image counts, and the checksum is this machine's only.
      const stale = local !== undefined && !options.pull && (await builder.localImageId?.(`${stripTag(ref)}@${digest}`).catch(() => undefined)) !== local;
      if (!stale) {
        out.digests[ref] = digest;
        continue;
      }
      out.digests[ref] = local;
      out.unresolved.push(`the local copy of base image '${ref}' (${local}) is not the registry's ${digest}: pull it, or set pull: true`);
      continue;
    }
    out.digests[ref] = local ?? null;
    out.unresolved.push(local ? `base image '${ref}' is not in a registry imgb can reach (only in the local engine)` : `base image '${ref}' cannot be resolved`);
  }
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
      // `FROM NAME` of a named context is that context, not an image called NAME.
      if (base.kind === "image" && !options.contexts?.some((c) => c.name === base.ref)) refs.add(base.ref);
    }
    return [...refs].sort();
  } catch {
    return []; // the engine will say what is wrong with the Dockerfile
  }
}

/** The manifest digest of `ref` in its registry; undefined when it cannot be asked or has no such tag. */
async function registryDigest(ref: string, registry: ContainerRegistry | undefined, signal: AbortSignal): Promise<string | undefined> {
  try {
    const name = parseReference(ref);
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(BASE_LOOKUP_TIMEOUT_MS)]);
    const registries = new Registries({ ...(registry ? { registry } : {}), insecureRegistries: [], signal: timeout, log() {}, blobDir: "" });
    return (await registries.client(name.host).manifestHead(name.repository, referenceTarget(name)))?.digest || undefined;
  } catch (e) {
    if (signal.aborted || isHelperFailure(e)) throw e; // the build would fail on it too: say it once, now
    return undefined; // unreachable, refused, unknown: the local engine may still know it
  }
}
