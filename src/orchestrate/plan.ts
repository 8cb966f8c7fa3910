/**
 * What `imgb build` would do, without building: the images in build order with their checksums
 * and, for each, whether an identical earlier build would be reused. An image whose build args
 * refer to an image that must be built first has no checksum yet ("pending").
 */
import type { TObject } from "@sinclair/typebox";
import type { Flavor } from "../builder/flavor.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { InputError, RuntimeError } from "../errors.ts";
import { containerRegistry } from "../stack/credentials.ts";
import type { ResolvedRegistry, ResolvedStack } from "../stack/model.ts";
import { dependenciesOf } from "../stack/resolve.ts";
import type { FileHashCache } from "./context_digest.ts";
import { prepareImage } from "./prepare.ts";
import type { BuiltReference } from "./refs.ts";
import { canRetag } from "./retag.ts";
import { stillExists, type ReuseCache } from "./reuse.ts";
import { selectImages } from "./run_build.ts";

export interface PlanEntry {
  image: string;
  dependsOn: string[];
  checksum: string | null;
  /** reuse: an identical build exists (verified); build: it will be built; pending: depends on a build. */
  decision: "reuse" | "build" | "pending";
  ref?: string;
}

export interface PlanOptions {
  images: readonly string[];
  env: Record<string, string | undefined>;
  reuse?: ReuseCache;
  hashes?: FileHashCache;
  signal: AbortSignal;
}

/** The plan of a stack's build that `imgb print` shows: per image, reuse, build or pending. */
export async function planStackBuild(stack: ResolvedStack, flavor: Flavor<TObject>, options: PlanOptions): Promise<PlanEntry[]> {
  const order = selectImages(stack, options.images);
  const registry = stack.containerRegistry ? registryForPlan(stack.containerRegistry, options.env) : undefined;
  const Builder = await flavor.implementation();
  const known = new Map<string, BuiltReference>();
  const plan: PlanEntry[] = [];
  for (const name of order) {
    const entry: PlanEntry = { image: name, dependsOn: dependenciesOf(stack.images[name]!), checksum: null, decision: "pending" };
    plan.push(entry);
    const builder = new Builder(stack.imageBuilder.config, { log() {}, signal: options.signal, report() {} });
    let prepared;
    try {
      prepared = await prepareImage(stack, stack.images[name]!, builder, registry, (n) => known.get(n), options.hashes, () => {}, options.signal);
    } catch (e) {
      if (e instanceof RuntimeError && e.code === "build.ref-unresolved") continue; // waits for a build
      throw e;
    }
    entry.checksum = prepared.checksum;
    const record = prepared.options.noCache ? undefined : options.reuse?.lookup(prepared.checksum);
    if (record && canRetag(record, builder, registry) && (await stillExists(record, builder, registry, options.signal))) {
      entry.decision = "reuse";
      entry.ref = record.ref.includes("@sha256:") ? record.ref : prepared.destinations[0]!; // as imgb build would print it
      known.set(name, { ...record, ref: entry.ref });
    } else {
      entry.decision = "build";
    }
  }
  return plan;
}

/** Planning needs no secret: without the password, registry records are checked anonymously. */
function registryForPlan(r: ResolvedRegistry, env: Record<string, string | undefined>): ContainerRegistry {
  try {
    return containerRegistry(r, env);
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return containerRegistry({ ...r, credentials: undefined }, env);
  }
}
