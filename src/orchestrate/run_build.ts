/**
 * Building the images of a resolved stack with one flavor: the images asked for and what they
 * depend on, in dependency order, independent ones in parallel (`jobs`), each reused instead of
 * built when an identical build still exists. Library code: it reports through events and
 * returns outcomes; the CLI (src/cli/build.ts) renders and exits.
 */
import type { TObject } from "@sinclair/typebox";
import type { BaseImageBuilder, BuildReport } from "../builder/base_image_builder.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { optionsForContract, type Flavor, type ImageBuilderClass } from "../builder/flavor.ts";
import { CancelledError, ImgbError, InputError, InputErrors, isDiskFull, RuntimeError, writeError } from "../errors.ts";
import { containerRegistry } from "../stack/credentials.ts";
import type { ResolvedStack } from "../stack/model.ts";
import { dependenciesOf } from "../stack/resolve.ts";
import { closest } from "../suggest.ts";
import type { FileHashCache } from "./context_digest.ts";
import type { BuildEvent, ImageResult } from "./events.ts";
import { destinationsOf, prepareImage } from "./prepare.ts";
import { probeEngine } from "./engine_probe.ts";
import { EngineGate, gatedBuilder, LOOKUP_CONCURRENCY, Slots } from "./engine_gate.ts";
import { probeRegistry } from "./registry_probe.ts";
import { usesStackRegistry } from "./registry_use.ts";
import { staticChecks } from "./static_checks.ts";
import { retag, canRetag, startTagHeads, type TagHeads } from "./retag.ts";
import { stillExists, type ReuseCache } from "./reuse.ts";
import { closure, NoNodeError, schedule, type Outcome, type Parts } from "./schedule.ts";
import { buildSplit } from "./split_platforms.ts";
import { engineNodes, hasNodes, NodeDownError, nodePlacement, probeNode, probeNodes, refuseAllDown, type NodeStatus } from "./nodes.ts";
import { forgetLocalImages, startBaseLookups, type BaseLookupCache } from "./base_images.ts";
import { lookupRecord, writeRecord } from "./registry_record.ts";
import { reusedPlatforms } from "./reused_platforms.ts";

export type { ImageResult } from "./events.ts";

export interface RunBuildOptions {
  /** Image names to build (with what they depend on); empty: all. */
  images: readonly string[];
  signal: AbortSignal;
  /** Where `password_env` is looked up. */
  env: Record<string, string | undefined>;
  /** Images built at once (per node with builder nodes; with one engine, only builds take a slot: engine_gate.ts). */
  jobs: number;
  /** Stop everything at the first failure. */
  failFast?: boolean;
  /** Earlier builds; without it every image is built (`--no-reuse`). */
  reuse?: ReuseCache;
  /**
   * `reuse: registry`: an image with no (valid) local record is looked up in the stack's
   * registry, and every pushed build is recorded there (registry_record.ts).
   */
  registryReuse?: boolean;
  /** Content hashes of context files (stat cache). */
  hashes?: FileHashCache;
  events(event: BuildEvent): void;
  /** Where the flavor comes from (`builtin` or its source file), named when its code fails. */
  flavorOrigin?: string;
}

export interface BuildRun {
  /** The images of this run, dependencies first. */
  order: string[];
  outcomes: Map<string, Outcome<ImageResult>>;
  /** The builder nodes as found before the first build (a builder with `nodes` only). */
  nodes?: NodeStatus[];
}

export async function runBuild(stack: ResolvedStack, flavor: Flavor, options: RunBuildOptions): Promise<BuildRun> {
  // What the run started in the background (the early base lookups) ends with it.
  const run = new AbortController();
  try {
    return await buildImages(stack, flavor, options, run.signal);
  } finally {
    run.abort();
  }
}

async function buildImages(stack: ResolvedStack, flavor: Flavor, options: RunBuildOptions, runEnded: AbortSignal): Promise<BuildRun> {
  const order = selectImages(stack, options.images);
  const refused = await staticChecks(stack, flavor, order);
  if (refused.length > 0) throw new InputErrors(refused);
  const deps = (name: string) => dependenciesOf(stack.images[name]!);
  const registry = stack.containerRegistry ? containerRegistry(stack.containerRegistry, options.env) : undefined;
  // Stops the whole run: a failed engine probe (below), --fail-fast.
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  // The bases of the images that depend on no other are asked for now, while the registry is
  // probed and the flavor's code loads: their answers are in when the checksums need them.
  const bases: BaseLookupCache = new Map();
  const early = AbortSignal.any([signal, runEnded]);
  const startLocalLookups = startBaseLookups(order.filter((n) => deps(n).length === 0).map((n) => stack.images[n]!), registry, bases, early);
  const blame = userCode(flavor, options.flavorOrigin);
  // Before the first build: a wrong password or a registry that is down fails now, in seconds,
  // once (not once per image); only when the run will use it at all (not for oci archives from
  // bases elsewhere). The flavor's code loads meanwhile.
  const usesRegistry = registry !== undefined && order.length > 0 && usesStackRegistry(stack, flavor, order, registry);
  const [Flavored] = await Promise.all([blame("loading its implementation", () => flavor.implementation()), usesRegistry ? probeRegistry(registry, options.signal) : undefined]);
  const multi = hasNodes(stack);
  const nodes = engineNodes(stack);
  let statuses: NodeStatus[] | undefined;
  // One engine: probed when the first image needs it (engine_gate.ts), so that a run of reused
  // images never waits for it; a failed probe stops the run, with its one error, before any build.
  const gate = new EngineGate(() => probeEngine(flavor, stack.imageBuilder.config, options.signal, blame).catch((e: unknown) => (stop.abort(e), Promise.reject(e))));
  const Builder = multi ? Flavored : gatedBuilder(Flavored, { gate, builds: new Slots(options.jobs), changed: () => forgetLocalImages(bases) });
  if (order.length > 0 && multi) {
    statuses = await probeNodes(flavor, nodes, blame);
    options.signal.throwIfAborted();
    refuseAllDown(statuses);
    for (const s of statuses) if (!s.up) options.events({ type: "node-down", node: s.name, reason: s.reason ?? "down" });
  }
  // One engine: its local copies of those bases are asked now too (with builder nodes each
  // node's engine has its own, asked by the images placed there). Flavor code: if it throws,
  // nothing is asked early, and the images' own builders meet the same fault and report it.
  if (!multi && order.length > 0) {
    try {
      startLocalLookups(new Builder(stack.imageBuilder.config, { log: () => {}, signal: early, report: () => {} }));
    } catch {
      // reported by the images
    }
  }
  const configOf = (node: string) => (multi ? nodes.find((n) => n.name === node)!.config : stack.imageBuilder.config);
  const done = new Map<string, ImageResult>();
  // Only where the flavor pushes to the stack's registry: an oci-layout output has nothing there.
  const shared: Shared = { flavor, bases, registryReuse: options.registryReuse === true && registry !== undefined && flavor.pushesToRegistry?.(stack.imageBuilder.config) !== false, heads: new Map() };
  // Where images may be reused from the registry, their tags are asked for now (the registry is
  // there: probed above), while the contexts are walked: a hit then writes only the tags that
  // point elsewhere without waiting for a HEAD. (A built image's tags are pushed instead.)
  if (shared.registryReuse && options.reuse) {
    const reusable = order.map((n) => stack.images[n]!).filter((image) => !image.noCache);
    startTagHeads(registry!, reusable.flatMap((image) => destinationsOf(image, registry)), shared.heads, early);
  }
  for (const name of order) options.events({ type: "queued", image: name, dependsOn: deps(name) });
  // A reused image is done for its dependents once its digest is known (they start their
  // checksum and lookup then); its tags are written meanwhile. A dependent's own tags, or its
  // build, wait for its dependencies' tags (tagsOf); a failed tag write fails its image.
  const tagging = new Map<string, Promise<void>>();
  let stoppedBy: string | undefined; // the image whose failed tags stopped the run (--fail-fast)
  let scheduled: AbortSignal | undefined; // the scheduler's signal (aborted by --fail-fast too)
  const tagsOf = async (name: string) => {
    for (const d of deps(name)) {
      const t = tagging.get(d);
      if (t) await t.catch((e: unknown) => Promise.reject(new DependencyTagFailed(d, e)));
    }
  };

  const outcomes = await schedule(
    order,
    deps,
    async (name, signal, node, parts) => {
      const started = performance.now();
      scheduled = signal;
      // A node found down mid-build: a NodeDownError (the scheduler moves the build elsewhere).
      const downError = async (at: string, e: unknown) => {
        const now = await probeNode(flavor, nodes.find((n) => n.name === at)!, blame).catch(() => undefined);
        return now && !now.up ? new NodeDownError(at, now.reason ?? "down", e) : undefined;
      };
      // Split over nodes: each part's own node decides about itself (Parts.run moves it).
      let inParts = false;
      const split: Split | undefined = parts && {
        parts: { placements: parts.placements, run: (fn) => ((inParts = true), parts.run(fn)) },
        builderFor: (at, prefix, partSignal) =>
          new Builder(configOf(at), { log: (line) => options.events({ type: "log", image: name, line: `${prefix}${line}` }), signal: partSignal, report: () => {} }),
        nodeDown: downError,
      };
      try {
        const { result, tags } = await buildOne(stack, name, Builder, flavor.contractVersion, registry, done, options, signal, blame, shared, configOf(node), split, () => tagsOf(name));
        if (multi && !result.nodes) result.node = node;
        done.set(name, result);
        if (!tags) {
          options.events({ type: "done", image: name, result });
          return result;
        }
        const written = tags.then(
          () => {
            result.durationMs = Math.round(performance.now() - started); // with its tags
            options.events({ type: "done", image: name, result });
          },
          (e: unknown) => {
            if (e instanceof DependencyTagFailed) throw e;
            if (!signal.aborted) options.events({ type: "failed", image: name, error: e instanceof Error ? e : new Error(String(e)) });
            if (options.failFast && !signal.aborted) {
              stoppedBy = name;
              stop.abort(e);
            }
            throw e;
          },
        );
        written.catch(() => {}); // awaited below, after the schedule
        tagging.set(name, written);
        return result;
      } catch (e) {
        // A node that went down mid-build: the image moves to another node, it has not failed.
        if (multi && !signal.aborted && !inParts && !(e instanceof DependencyTagFailed)) {
          const down = await downError(node, e);
          if (down) throw down;
        }
        // Reported as it happens, not at the end; a cancellation, no node left and a dependency
        // whose tags failed are reported below.
        if (!signal.aborted && !(e instanceof NoNodeError) && !(e instanceof DependencyTagFailed)) options.events({ type: "failed", image: name, error: e instanceof Error ? e : new Error(String(e)) });
        throw e;
      }
    },
    {
      // One engine: --jobs counts its builds (the gated builder's slots), not lookups and tags.
      jobs: multi ? options.jobs : Math.max(options.jobs, LOOKUP_CONCURRENCY),
      failFast: options.failFast,
      signal,
      onStart: (image, node, parts) => options.events(node === undefined ? { type: "start", image } : { type: "start", image, node: parts ? parts.map((p) => `${p.node} (${p.platform})`).join(", ") : node }),
      ...(statuses
        ? {
            ...nodePlacement(stack, statuses),
            nodeDown: async (_node: string, error: unknown) => (error instanceof NodeDownError ? error.reason : undefined),
            onNodeDown: (node: string, reason: string, moved: string) => options.events({ type: "node-down", node, reason, image: moved }),
          }
        : {}),
    },
  );
  // Every tag written before the run ends: an image whose tags failed has failed (reported as it
  // happened), and what waited for them is skipped because of it.
  const cut = scheduled ?? signal;
  for (const [name, written] of tagging) {
    await written.catch((error: unknown) => {
      const o = outcomes.get(name)!;
      if (error instanceof DependencyTagFailed) outcomes.set(name, { state: "skipped", because: error.dependency });
      // Cut off by a Ctrl-C, or by another image's failure under --fail-fast: cancelled.
      else if (cut.aborted && name !== stoppedBy && (error === cut.reason || error instanceof CancelledError || (error instanceof Error && error.name === "AbortError"))) outcomes.set(name, { state: "cancelled" });
      else outcomes.set(name, { state: "failed", error, ...(o.state === "done" && o.placements ? { placements: o.placements } : {}) });
    });
  }
  if (gate.error !== undefined && !options.signal.aborted) throw gate.error; // the engine is not there: one error, as before
  for (const name of order) {
    const o = outcomes.get(name)!;
    if (o.state === "failed" && o.error instanceof DependencyTagFailed) outcomes.set(name, { state: "skipped", because: o.error.dependency });
  }
  for (const name of order) {
    const o = outcomes.get(name)!;
    if (o.state === "skipped") options.events({ type: "skipped", image: name, because: o.because });
    else if (o.state === "cancelled") options.events({ type: "cancelled", image: name });
    else if (o.state === "failed" && o.error instanceof NoNodeError) {
      // No node left for it: the scheduler decided, no build ran; reported here.
      const error = new RuntimeError("build.no-node", o.error.message);
      outcomes.set(name, { ...o, error });
      options.events({ type: "failed", image: name, error });
    }
  }
  return statuses ? { order, outcomes, nodes: statuses } : { order, outcomes };
}

/** A dependency's tags could not be written: what depends on it is skipped, not built or tagged. */
class DependencyTagFailed extends Error {
  override name = "DependencyTagFailed";
  constructor(
    readonly dependency: string,
    cause: unknown,
  ) {
    super(`the tags of '${dependency}' were not written`, { cause });
  }
}

/** An image split over builder nodes: its parts, and a builder per node (split_platforms.ts). */
interface Split {
  parts: Parts;
  builderFor(node: string, prefix: string, signal: AbortSignal): BaseImageBuilder;
  nodeDown(node: string, error: unknown): Promise<Error | undefined>;
}

/** What the images of one run share. */
interface Shared {
  flavor: Flavor;
  bases: BaseLookupCache;
  registryReuse: boolean;
  /** The tags' early HEADs (retag.ts). */
  heads: TagHeads;
}

async function buildOne(
  stack: ResolvedStack,
  name: string,
  Builder: ImageBuilderClass<TObject>,
  contractVersion: number,
  registry: ContainerRegistry | undefined,
  done: Map<string, ImageResult>,
  options: RunBuildOptions,
  signal: AbortSignal,
  blame: ReturnType<typeof userCode>,
  shared: Shared,
  config: Record<string, unknown>,
  split: Split | undefined,
  depsTagged: () => Promise<void>,
): Promise<{ result: ImageResult; tags?: Promise<void> }> {
  const started = performance.now();
  const warn = (message: string) => options.events({ type: "warning", image: name, message });
  const facts: BuildReport = {};
  const builder: BaseImageBuilder = new Builder(config, {
    log: (line) => options.events({ type: "log", image: name, line }),
    signal,
    report: (f) => Object.assign(facts, f),
  });
  options.events({ type: "step", image: name, step: "checksum" });
  const prepared = await prepareImage(
    stack,
    stack.images[name]!,
    builder,
    registry,
    (n) => done.get(n),
    options.hashes,
    warn,
    signal,
    { flavor: shared.flavor, bases: shared.bases },
  );
  const elapsed = () => Math.round(performance.now() - started);
  const multiPlatform = new Set(prepared.options.platforms).size > 1;

  // no_cache asks for a build: reusing an earlier one would ignore it.
  const record = prepared.options.noCache ? undefined : options.reuse?.lookup(prepared.checksum);
  if (record && canRetag(record, builder, registry)) {
    options.events({ type: "step", image: name, step: "verify" });
    if (await stillExists(record, builder, registry, signal)) {
      const tags = depsTagged().then(() => (options.events({ type: "step", image: name, step: "tag" }), blame(`tagging '${name}'`, () => retag(record, prepared.destinations, builder, registry, signal, undefined, shared.heads))));
      // A pushed image's reference is its digest; a local one is named by this run's first tag.
      const ref = record.ref.includes("@sha256:") ? record.ref : prepared.destinations[0]!;
      if (ref !== record.ref) await tags; // a local image's name is its tag: there once tagged
      const platforms = multiPlatform && ref === record.ref ? await settleFirst(tags, reusedPlatforms(registry, ref, record.digest, signal, warn)) : undefined;
      return { result: { image: name, ref, digest: record.digest, imageId: record.imageId, ...(platforms ? { platforms } : {}), checksum: prepared.checksum, reused: true, reusedFrom: "local", durationMs: elapsed() }, tags };
    }
    options.reuse!.forget(prepared.checksum);
  }
  const repository = prepared.destinations[0]!.slice(0, prepared.destinations[0]!.lastIndexOf(":"));
  const portable = shared.registryReuse && prepared.notPortable === undefined;
  if (portable && !prepared.options.noCache) {
    options.events({ type: "step", image: name, step: "lookup" });
    const found = await lookupRecord(registry!, repository, prepared.checksum, signal);
    if (found.kind === "mismatch") {
      options.events({ type: "warning", image: name, message: `registry record ${repository}:imgb-… points at ${found.digest}, but ${found.reason}, not ${prepared.checksum}: ignored, building` });
    } else if (found.kind === "hit") {
      const rec = { checksum: prepared.checksum, image: name, ref: `${repository}@${found.digest}`, digest: found.digest, builtAt: new Date().toISOString() };
      // The digest is known and verified: dependents go on while the tags are written.
      const tags = depsTagged()
        .then(() => options.events({ type: "step", image: name, step: "tag" }))
        .then(() => retag(rec, prepared.destinations, builder, registry, signal, found.manifest, shared.heads))
        .then(() => options.reuse?.record(rec));
      const platforms = multiPlatform ? await settleFirst(tags, reusedPlatforms(registry, rec.ref, found.digest, signal, warn, found.manifest)) : undefined;
      return { result: { image: name, ref: rec.ref, digest: found.digest, ...(platforms ? { platforms } : {}), checksum: prepared.checksum, reused: true, reusedFrom: "registry", durationMs: elapsed() }, tags };
    }
  }
  await depsTagged(); // what it is built FROM is where its tags say
  options.events({ type: "step", image: name, step: "build" });
  if (split) {
    const built = await buildSplit({
      image: name,
      prepared,
      registry,
      parts: split.parts,
      signal,
      log: (line) => options.events({ type: "log", image: name, line }),
      builderFor: split.builderFor,
      build: (b, imageName, o) => blame(`building '${name}'`, () => b.build(imageName, prepared.context, optionsForContract(contractVersion, o, prepared.context.dockerfile), registry)),
      nodeDown: split.nodeDown,
    });
    return { result: await recorded({ image: name, ref: built.ref, digest: built.digest, platforms: built.platforms, nodes: built.nodes, checksum: prepared.checksum, reused: false, durationMs: elapsed() }, repository, portable, registry, options, signal) };
  }
  const ref = await blame(`building '${name}'`, () => builder.build(prepared.imageName, prepared.context, optionsForContract(contractVersion, prepared.options, prepared.context.dockerfile), registry));
  return { result: await recorded({ image: name, ref, ...facts, checksum: prepared.checksum, reused: false, durationMs: elapsed() }, repository, portable, registry, options, signal) };
}

/** `value`, but a failure of `first` (started before it) wins: no unhandled rejection, and the tag error is the one reported. */
async function settleFirst<T>(first: Promise<unknown>, value: Promise<T>): Promise<T> {
  const [f, v] = await Promise.allSettled([first, value]);
  if (f.status === "rejected") throw f.reason;
  if (v.status === "rejected") throw v.reason;
  return v.value;
}

/** A build's result, recorded for reuse here and, when it is portable and pushed, in the registry. */
async function recorded(result: ImageResult, repository: string, portable: boolean, registry: ContainerRegistry | undefined, options: RunBuildOptions, signal: AbortSignal): Promise<ImageResult> {
  const { image: name, ref } = result;
  options.reuse?.record({ checksum: result.checksum, image: name, ref, digest: result.digest, imageId: result.imageId, builtAt: new Date().toISOString() });
  if (portable && result.digest && ref.includes("@sha256:")) {
    // The image is pushed; the record is an extra: failing to write it fails nothing.
    await writeRecord(registry!, repository, result.digest, result.checksum, signal).catch((e: unknown) => {
      if (signal.aborted) throw e;
      options.events({ type: "warning", image: name, message: `not recorded in the registry for other machines: ${(e as Error).message}` });
    });
  }
  return result;
}

/**
 * Errors imgb did not make (a TypeError in a user's builder, say) become one RuntimeError that
 * names the flavor and its file, instead of an "internal error" of imgb.
 */
function userCode(flavor: Flavor, origin: string | undefined) {
  return async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (e) {
      if (e instanceof ImgbError || (e instanceof DOMException && e.name === "AbortError")) throw e;
      // A full disk is the disk's fault, whoever wrote: say so, with the path the error names.
      if (isDiskFull(e)) throw writeError(e, "a file", (e as NodeJS.ErrnoException).path ?? "(unknown path)");
      const where = origin && origin !== "builtin" ? ` (${origin})` : "";
      throw new RuntimeError("build.flavor-failed", `Flavor '${flavor.name}'${where} failed while ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  };
}

/** The named images and everything they depend on, dependencies first; all images by default. */
export function selectImages(stack: ResolvedStack, names: readonly string[]): string[] {
  const all = Object.keys(stack.images);
  for (const name of names) {
    if (stack.images[name]) continue;
    const guess = closest(name, all);
    throw new InputError("build.unknown-image", `Unknown image '${name}' in '${stack.file}'`, {
      hint: guess ? `did you mean '${guess}'?` : `the stack defines: ${all.join(", ")}`,
    });
  }
  return closure(names.length ? names : all, (n) => dependenciesOf(stack.images[n]!));
}
