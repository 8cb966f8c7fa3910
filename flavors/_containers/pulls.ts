/**
 * How podman and buildah get the base images that live in the stack's own registry (an image
 * built on another one of the stack: `FROM ${images.base.ref}`). The engine does not have the
 * pushed digest locally, so it pulls it, and must do so with the settings the push used
 * (`--tls-verify=false` for a plain-HTTP registry, the login's `--authfile`) — not its defaults.
 *
 * Those flags apply to every pull of the build, so they go on the build only when all of its
 * remote bases are in the stack's registry. Otherwise the stack's bases are pulled first, alone,
 * with those flags, and the build runs with the engine's own defaults for the others: another
 * registry never loses TLS verification, nor the user's own logins (an `--authfile` replaces the
 * default auth file).
 */
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { inRegistry } from "../../src/image/name.ts";

export interface PullPlan {
  /** Registry flags for the build itself (pulls during the build). */
  buildFlags: string[];
  /** Images to pull before the build, each with its flags. */
  prePull: { ref: string; flags: string[] }[];
  /** Whether the build should still pull always (`--pull=always`). */
  pullAlways: boolean;
}

/**
 * The images a build pulls: its bases, less a `FROM NAME` that names a named context (that is
 * the context, not an image), plus the images of named contexts (`docker-image://REF`), which
 * the engine pulls like bases (with the stack registry's flags, when they are in it).
 * Undefined bases (a Dockerfile imgb cannot read) stay undefined.
 */
export function withNamedContexts(bases: readonly string[] | undefined, options: Pick<BuildOptions, "contexts">): string[] | undefined {
  const contexts = options.contexts ?? [];
  if (bases === undefined || !contexts.length) return bases && [...bases];
  const names = new Set(contexts.map((c) => c.name));
  return [...new Set([...bases.filter((b) => !names.has(b)), ...contexts.flatMap((c) => (c.image === undefined ? [] : [c.image]))])];
}

/** Pure: which pulls need the stack registry's flags, and where they go. */
export function planPulls(bases: readonly string[] | undefined, pull: boolean, registry: ContainerRegistry | undefined, registryFlags: readonly string[]): PullPlan {
  const none: PullPlan = { buildFlags: [], prePull: [], pullAlways: pull };
  if (!registry || !bases || registryFlags.length === 0) return none;
  const inStack = bases.filter((ref) => inRegistry(registry, ref) !== undefined);
  if (inStack.length === 0) return none;
  const others = bases.filter((ref) => !inStack.includes(ref));
  if (others.length === 0) return { buildFlags: [...registryFlags], prePull: [], pullAlways: pull };
  // Mixed: with `pull`, the other bases are pulled first too (what --pull=always would do), so
  // that the build need not pull again the stack's bases without the flags.
  const prePull = [...inStack.map((ref) => ({ ref, flags: [...registryFlags] })), ...(pull ? others.map((ref) => ({ ref, flags: [] })) : [])];
  return { buildFlags: [], prePull, pullAlways: false };
}

/**
 * The plan when the build's registry cache (`--cache-from/--cache-to`) is in the stack's
 * registry: the build itself must carry the registry's flags (the engine pulls and pushes cache
 * images during the build). So that no other base is pulled with them, every base outside the
 * stack registry is pulled first with the engine's defaults: the ones the engine lacks (`local`
 * lists those it has), or all of them with `pull`. Bases in the stack registry need nothing
 * more, except a pull first with `pull`. Unknown bases (a Dockerfile imgb cannot read) are left
 * to the build.
 */
export function planPullsWithStackCache(bases: readonly string[] | undefined, pull: boolean, registry: ContainerRegistry, registryFlags: readonly string[], local: readonly string[]): PullPlan {
  const inStack = (bases ?? []).filter((ref) => inRegistry(registry, ref) !== undefined);
  const others = (bases ?? []).filter((ref) => !inStack.includes(ref));
  const prePull = [
    ...(pull ? inStack.map((ref) => ({ ref, flags: [...registryFlags] })) : []),
    ...others.filter((ref) => pull || !local.includes(ref)).map((ref) => ({ ref, flags: [] as string[] })),
  ];
  return { buildFlags: [...registryFlags], prePull, pullAlways: bases === undefined ? pull : false };
}

/** Is any registry cache of the build in the stack's registry? */
export function cacheInStackRegistry(options: Pick<BuildOptions, "cacheFrom" | "cacheTo">, registry: ContainerRegistry | undefined): boolean {
  if (!registry) return false;
  const refs = [...(options.cacheFrom ?? []), ...(options.cacheTo ?? []).flatMap((c) => (c.type === "registry" ? [c.ref] : []))];
  return refs.some((ref) => inRegistry(registry, ref) !== undefined);
}
