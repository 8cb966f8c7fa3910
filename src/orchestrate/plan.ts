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
import type { BaseLookupCache } from "./base_images.ts";
import type { BuiltReference } from "./refs.ts";
import { canRetag } from "./retag.ts";
import { stillExists, type ReuseCache } from "./reuse.ts";
import { lookupRecord, recordTag, type RecordLookup } from "./registry_record.ts";
import { selectImages } from "./run_build.ts";
import { engineNodes, nodePlacement, type NodeStatus } from "./nodes.ts";
import { plannedPlacements, type Placement } from "./placement.ts";

export interface PlanEntry {
  image: string;
  dependsOn: string[];
  checksum: string | null;
  /** reuse: an identical build exists (verified); build: it will be built; pending: depends on a build. */
  decision: "reuse" | "build" | "pending";
  ref?: string;
  /** Where the reused build was found: this machine's store or the registry's record tag; none: built. */
  reuseFrom?: "local" | "registry" | "none";
  /** Why it is not reused from the local record or from the registry (one reason per place). */
  why?: string[];
  /** With builder nodes: the node the image is planned on (null: no node can build it, see `nodeWhy`). */
  node?: string | null;
  /** The planned node per platform (the scheduler's unit: a split image has a node per platform; `node` is the first's). */
  placements?: Placement[];
  nodeWhy?: string;
}

export interface PlanOptions {
  images: readonly string[];
  env: Record<string, string | undefined>;
  reuse?: ReuseCache;
  /** Look up the registry's record tags too (`reuse: registry`). */
  registryReuse?: boolean;
  hashes?: FileHashCache;
  signal: AbortSignal;
  /** The builder nodes as probed (nodes.ts), for a builder with `nodes`: each image gets a planned node. */
  nodes?: readonly NodeStatus[];
}

/** The plan of a stack's build that `imgb print` shows: per image, reuse, build or pending. */
export async function planStackBuild(stack: ResolvedStack, flavor: Flavor<TObject>, options: PlanOptions): Promise<PlanEntry[]> {
  const order = selectImages(stack, options.images);
  const registry = stack.containerRegistry ? registryForPlan(stack.containerRegistry, options.env) : undefined;
  const Builder = await flavor.implementation();
  const known = new Map<string, BuiltReference>();
  const bases: BaseLookupCache = new Map();
  const registryReuse = options.registryReuse === true && registry !== undefined && flavor.pushesToRegistry?.(stack.imageBuilder.config) !== false;
  const plan: PlanEntry[] = [];
  const placed = options.nodes ? placeImages(stack, order, options.nodes) : undefined;
  const configs = new Map(engineNodes(stack).map((n) => [n.name, n.config]));
  const firstUp = options.nodes?.find((n) => n.up)?.name;
  for (const name of order) {
    const entry: PlanEntry = { image: name, dependsOn: dependenciesOf(stack.images[name]!), checksum: null, decision: "pending" };
    plan.push(entry);
    let config = stack.imageBuilder.config;
    const where = placed?.get(name);
    if (where && "why" in where) Object.assign(entry, { node: null, nodeWhy: where.why });
    else if (where) Object.assign(entry, { node: where[0]!.node, placements: where });
    const node = entry.node ?? firstUp;
    if (placed && node !== undefined) config = configs.get(node) ?? config;
    const builder = new Builder(config, { log() {}, signal: options.signal, report() {} });
    let prepared;
    try {
      prepared = await prepareImage(stack, stack.images[name]!, builder, registry, (n) => known.get(n), options.hashes, () => {}, options.signal, { flavor, bases });
    } catch (e) {
      if (e instanceof RuntimeError && e.code === "build.ref-unresolved") continue; // waits for a build
      throw e;
    }
    entry.checksum = prepared.checksum;
    const why: string[] = [];
    const record = prepared.options.noCache ? undefined : options.reuse?.lookup(prepared.checksum);
    if (prepared.options.noCache) why.push("no_cache is set");
    else if (!options.reuse && !registryReuse) why.push("reuse is off");
    else if (!options.reuse) why.push("local: no store on this machine");
    else if (!record) why.push("local: no record of this checksum in this machine's store");
    if (record && canRetag(record, builder, registry) && (await stillExists(record, builder, registry, options.signal))) {
      entry.decision = "reuse";
      entry.reuseFrom = "local";
      entry.ref = record.ref.includes("@sha256:") ? record.ref : prepared.destinations[0]!; // as imgb build would print it
      known.set(name, { ...record, ref: entry.ref });
      continue;
    }
    if (record) why.push(`local: the recorded ${record.ref} no longer exists`);
    entry.decision = "build";
    entry.reuseFrom = "none";
    entry.why = why;
    if (prepared.options.noCache || (!options.reuse && !registryReuse)) continue;
    if (!registryReuse) {
      why.push(registry ? "registry: reuse is local (or the flavor does not push to the registry)" : "registry: the stack has no container_registry");
      continue;
    }
    if (prepared.notPortable) {
      why.push(`registry: off for this image: ${prepared.notPortable}`);
      continue;
    }
    const repository = prepared.destinations[0]!.slice(0, prepared.destinations[0]!.lastIndexOf(":"));
    let found: RecordLookup;
    try {
      found = await lookupRecord(registry, repository, prepared.checksum, options.signal);
    } catch (e) {
      if (options.signal.aborted) throw e;
      why.push(`registry: cannot look up ${repository}:${recordTag(prepared.checksum)}: ${(e as Error).message}`);
      continue;
    }
    if (found.kind === "hit") {
      Object.assign(entry, { decision: "reuse", reuseFrom: "registry", ref: `${repository}@${found.digest}`, why: undefined });
      known.set(name, { ref: entry.ref!, digest: found.digest });
    } else if (found.kind === "miss") {
      why.push(`registry: no record tag ${repository}:${recordTag(prepared.checksum)}`);
    } else {
      why.push(`registry: record tag ${repository}:${recordTag(prepared.checksum)} points at ${found.digest}, but ${found.reason} (forged or stale: it will be rebuilt)`);
    }
  }
  return plan;
}

/** Each image's planned node, as `imgb build` would place it (platforms pinned like run_build.ts). */
function placeImages(stack: ResolvedStack, order: readonly string[], nodes: readonly NodeStatus[]) {
  const p = nodePlacement(stack, nodes);
  return plannedPlacements(order, p.platforms, p.nodes, p.down, p.emulation);
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
