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
