/**
 * Build reuse: an image whose checksum was built before is not built again, provided the
 * result still exists — verified every time, never trusted from the record alone:
 * a pushed image by its manifest digest in the registry, a local image by its engine ID (asked
 * by ID, not by name: the name may have moved to another image; retag.ts moves it back).
 * The record lives in imgb's store; `--no-reuse` (no ReuseCache) always builds.
 */
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { inRegistry, splitReference } from "../image/name.ts";
import { registryClient } from "../image/remote/client.ts";
import { isHelperFailure } from "../image/remote/credential_helper.ts";
import type { BuildRecord, Store } from "../store/store.ts";
import { UsageError } from "../errors.ts";
import type { ResolvedStack } from "../stack/model.ts";
import { engineGateOf } from "./engine_gate.ts";

/** registry: the local record, else the registry's record tag; local: the local record only; off: always build. */
export type ReuseMode = "registry" | "local" | "off";
export const REUSE_MODES: readonly ReuseMode[] = ["registry", "local", "off"];

/** `--reuse MODE` (or `--no-reuse`, which is off), else the stack's `reuse`, else registry when the stack has a registry. */
export function reuseMode(stack: Pick<ResolvedStack, "reuse" | "containerRegistry">, flag?: string, noReuse?: boolean): ReuseMode {
  if (flag !== undefined && !(REUSE_MODES as readonly string[]).includes(flag)) {
    throw new UsageError("cli.bad-reuse", `Invalid --reuse '${flag}'`, { hint: `one of: ${REUSE_MODES.join(", ")}` });
  }
  if (noReuse && flag !== undefined && flag !== "off") throw new UsageError("cli.bad-reuse", `--no-reuse and --reuse ${flag} contradict each other`, { hint: "--no-reuse is --reuse off" });
  if (noReuse) return "off";
  const mode = (flag as ReuseMode | undefined) ?? stack.reuse ?? (stack.containerRegistry ? "registry" : "local");
  // Without a registry there is nothing shared to look in: registry reuse is the local one.
  return mode === "registry" && !stack.containerRegistry ? "local" : mode;
}

export interface ReuseCache {
  lookup(checksum: string): BuildRecord | undefined;
  record(record: BuildRecord): void;
  forget(checksum: string): void;
  /** Write what was recorded and forgotten (a cache that writes at once has nothing to do). */
  flush?(): void;
}

/**
 * The store's build records, written in one transaction by `flush` (at the end of the run): a
 * write is a few fsyncs, and a run that reuses eight images would spend more on them than on
 * everything else. A run killed before the flush loses its records; the next run verifies and
 * builds (or finds the registry's record) as if they had never been made.
 */
export function storeReuseCache(store: Store): ReuseCache {
  const pending = new Map<string, BuildRecord | null>();
  return {
    lookup: (c) => (pending.has(c) ? (pending.get(c) ?? undefined) : store.getBuild(c)),
    record: (r) => void pending.set(r.checksum, r),
    forget: (c) => void pending.set(c, null),
    flush: () => {
      store.putBuilds([...pending].map(([checksum, r]) => r ?? { checksum }));
      pending.clear();
    },
  };
}

/** Does the recorded build still exist where it was put? */
export async function stillExists(rec: BuildRecord, builder: BaseImageBuilder, registry: ContainerRegistry | undefined, signal: AbortSignal): Promise<boolean> {
  if (splitReference(rec.ref).digest !== undefined) {
    if (!registry || !rec.digest) return false;
    return registryHasManifest(registry, rec.ref, rec.digest, signal);
  }
  if (!builder.localImageId || !rec.imageId) return false;
  if ((await builder.localImageId(rec.imageId)) === rec.imageId) return true;
  // Not found may mean an engine that is not there (the probe waits for a need, engine_gate.ts):
  // ask it before the record is forgotten. The image is built next, so the probe is due anyway.
  await engineGateOf(builder)?.open();
  return false;
}

/** Is the manifest `digest` still in the repository of `reference` (`host/path@digest`)? Another registry, unreachable or refused: no. */
export async function registryHasManifest(registry: ContainerRegistry, reference: string, digest: string, signal: AbortSignal): Promise<boolean> {
  const name = inRegistry(registry, reference);
  if (!name) return false;
  try {
    return (await registryClient(registry, signal).manifestHead(name.repository, digest))?.digest === digest;
  } catch (e) {
    if (signal.aborted || isHelperFailure(e)) throw e; // a broken credential helper is the user's to fix, not a reason to rebuild
    return false; // cannot verify, so build
  }
}
