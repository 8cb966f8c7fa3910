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
 *
 * Several platforms: each platform's FROM references (ARGs such as TARGETARCH substituted for
 * that platform) are resolved to that platform's manifest digest, picked from the base's index
 * (one GET of the index per reference and run); a base that is a single manifest counts by its
 * digest for every platform. A local copy is not compared: a local tag holds one platform, and
 * multi-platform builds resolve each platform's base in the registry (docker's BuildKit does;
 * its classic builder is given --pull).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import type { BuildOptions } from "../builder/build_options.ts";
import type { ResolvedImage } from "../stack/model.ts";
import { readPlainFile } from "../stack/dockerfile_start.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import type { ContextEntryList, ImageBuildContext } from "../builder/build_context.ts";
import { findEntry } from "../context/build_context.ts";
import { Registries } from "../image/remote/registries.ts";
import { parseReference, referenceTarget, splitReference, stripTag } from "../image/name.ts";
import { isHelperFailure } from "../image/remote/credential_helper.ts";
import { parseDockerfile } from "../dockerfile/parse.ts";
import { isIndex, sha256, type ImageIndex } from "../image/image.ts";
import { platformMatches } from "../image/remote/fetch_image.ts";
import { parsePlatform, planBuild } from "../dockerfile/stages.ts";

/** A registry lookup of a base waits at most this long: a registry that hangs means "unknown". */
export const BASE_LOOKUP_TIMEOUT_MS = 10_000;

export interface BaseImages {
  /** FROM reference -> digest or image ID (null: unknown). */
  digests: Record<string, string | null>;
  /** Why the checksum is machine-dependent (a base known only locally, or not at all); empty when it is not. */
  unresolved: string[];
  /** Several platforms: platform -> FROM reference -> that platform's manifest digest (or image ID; null: unknown). `digests` is then empty. */
  platforms?: Record<string, Record<string, string | null>>;
}

/** What a registry said about a reference: its manifest digest, and the entries when it is an index. */
export interface RegistryAnswer {
  digest: string;
  index?: ImageIndex["manifests"];
}

/**
 * Lookups of one run, shared by its images: registry answers by method and reference (eight
 * images FROM one base ask once), and local image IDs by engine and reference. Promises, so
 * images asking at once share one request. The run drops the local entries after each engine
 * build or tag (run_build.ts): a tag may then point elsewhere.
 */
export type BaseLookupCache = Map<string, Promise<unknown>>;

/** `key`'s shared lookup, started by `start` when it is the first ask. */
function once<T>(cache: BaseLookupCache, key: string, start: () => Promise<T>): Promise<T> {
  let p = cache.get(key) as Promise<T> | undefined;
  if (!p) cache.set(key, (p = start()));
  return p;
}

/** Drop the cached local image IDs (an engine build or tag may have moved a tag). */
export function forgetLocalImages(cache: BaseLookupCache): void {
  for (const key of cache.keys()) if (key.startsWith("local ")) cache.delete(key);
}

/** The engine's ID of `ref` (undefined: not there, or the engine cannot say), asked once per run and engine. */
function localId(builder: BaseImageBuilder, ref: string, cache: BaseLookupCache): Promise<string | undefined> {
  if (!builder.localImageId) return Promise.resolve(undefined);
  // Keyed by the builder's config: with builder nodes, each node's engine has its own images.
  return once(cache, `local ${JSON.stringify(builder.config ?? null)} ${ref}`, () => builder.localImageId!(ref).catch(() => undefined));
}

export async function baseImageDigests(
  context: ImageBuildContext,
  entries: ContextEntryList,
  options: BuildOptions,
  builder: BaseImageBuilder,
  registry: ContainerRegistry | undefined,
  signal: AbortSignal,
  cache: BaseLookupCache = new Map(),
): Promise<BaseImages> {
  const platforms = [...new Set(options.platforms)];
  if (platforms.length > 1) return platformBaseDigests(context, entries, options, platforms, builder, registry, signal, cache);
  const refs = baseRefs(context, entries, options, options.platforms[0]);
  // Every base at once: the registry and the engine are asked concurrently.
  const answers = await Promise.all(refs.map((ref) => resolveBase(ref, options, builder, registry, signal, cache)));
  const out: BaseImages = { digests: {}, unresolved: [] };
  refs.forEach((ref, i) => {
    const { digest, why } = answers[i]!;
    out.digests[ref] = digest;
    if (why) out.unresolved.push(why);
  });
  return out;
}

/** One base of a single-platform build: what the checksum counts, and why it is machine-dependent. */
async function resolveBase(
  ref: string,
  options: BuildOptions,
  builder: BaseImageBuilder,
  registry: ContainerRegistry | undefined,
  signal: AbortSignal,
  cache: BaseLookupCache,
): Promise<{ digest: string | null; why?: string }> {
  const pinned = splitReference(ref).digest;
  if (pinned !== undefined && /^sha256:[0-9a-f]{64}$/.test(pinned)) return { digest: pinned };
  const [remote, local] = await Promise.all([once(cache, `head ${ref}`, () => registryLookup("HEAD", ref, registry, signal)), localId(builder, ref, cache)]);
  const digest = remote?.digest;
  if (digest) {
    // The engine builds FROM its local copy (unless it pulls): one that is not the registry's
    // image (an old pull, a local rebuild) would be built on while the checksum named another
    // base. Then the local image counts, and the checksum is this machine's only.
    const stale = local !== undefined && !options.pull && (await localId(builder, `${stripTag(ref)}@${digest}`, cache)) !== local;
    if (!stale) return { digest };
    return { digest: local, why: `the local copy of base image '${ref}' (${local}) is not the registry's ${digest}: pull it, or set pull: true` };
  }
  return { digest: local ?? null, why: local ? `base image '${ref}' is not in a registry imgb can reach (only in the local engine)` : `base image '${ref}' cannot be resolved` };
}

/** Each platform's bases (see the file comment). */
async function platformBaseDigests(
  context: ImageBuildContext,
  entries: ContextEntryList,
  options: BuildOptions,
  platforms: readonly string[],
  builder: BaseImageBuilder,
  registry: ContainerRegistry | undefined,
  signal: AbortSignal,
  cache: BaseLookupCache,
): Promise<BaseImages> {
  const one = async (ref: string, platform: string): Promise<{ digest: string | null; why?: string }> => {
    const pinned = splitReference(ref).digest;
    // An index is immutable: so are the manifests it lists.
    if (pinned !== undefined && /^sha256:[0-9a-f]{64}$/.test(pinned)) return { digest: pinned };
    const answer = await once(cache, `get ${ref}`, () => registryLookup("GET", ref, registry, signal));
    // No entry for the platform: null, and the build says the base lacks it.
    if (answer) return { digest: answer.index ? (pickPlatform(answer.index, platform) ?? null) : answer.digest };
    const local = await localId(builder, ref, cache);
    return { digest: local ?? null, why: local ? `base image '${ref}' is not in a registry imgb can reach (only in the local engine)` : `base image '${ref}' cannot be resolved` };
  };
  const perPlatform = await Promise.all(
    platforms.map(async (platform) => {
      const refs = baseRefs(context, entries, options, platform);
      return { platform, refs, answers: await Promise.all(refs.map((ref) => one(ref, platform))) };
    }),
  );
  const out: BaseImages = { digests: {}, unresolved: [], platforms: {} };
  for (const { platform, refs, answers } of perPlatform) {
    const mine: Record<string, string | null> = {};
    refs.forEach((ref, i) => {
      const { digest, why } = answers[i]!;
      mine[ref] = digest;
      if (why && !out.unresolved.includes(why)) out.unresolved.push(why);
    });
    out.platforms![platform] = mine;
  }
  return out;
}

/** The digest of the index entry for `platform` (an exact variant first, as fetch_image.ts picks). */
function pickPlatform(manifests: ImageIndex["manifests"], platform: string): string | undefined {
  let want;
  try {
    want = parsePlatform(platform);
  } catch {
    return undefined;
  }
  const candidates = manifests.filter((m) => platformMatches(m.platform, want));
  return (candidates.find((m) => m.platform?.variant === want.variant) ?? candidates[0])?.digest;
}

function baseRefs(context: ImageBuildContext, entries: ContextEntryList, options: BuildOptions, platform: string | undefined): string[] {
  try {
    const entry = findEntry(entries, context.dockerfile);
    if (!entry) return [];
    const text = entry.content ? new TextDecoder().decode(entry.content) : entry.source ? readFileSync(entry.source, "utf8") : "";
    return fromRefs(text, context.dockerfile, options.buildArgs, options.target, platform, (name) => options.contexts?.some((c) => c.name === name) === true);
  } catch {
    return []; // the engine will say what is wrong with the Dockerfile
  }
}

/** The image references the stages `target` needs start FROM, sorted (`isContext`: a named context, not an image). Throws on a Dockerfile it cannot parse. */
function fromRefs(text: string, path: string, buildArgs: Readonly<Record<string, string>>, target: string | undefined, platform: string | undefined, isContext: (name: string) => boolean): string[] {
  const plan = planBuild(parseDockerfile(text, path), buildArgs, parsePlatform(platform ?? "linux/amd64"), target);
  const refs = new Set<string>();
  for (const i of plan.order) {
    const base = plan.stages[i]!.base;
    // `FROM NAME` of a named context is that context, not an image called NAME.
    if (base.kind === "image" && !isContext(base.ref)) refs.add(base.ref);
  }
  return [...refs].sort();
}

/**
 * Start the lookups of the bases of `images` now, into `cache`, before their contexts are
 * walked: at the start of a run, while the registry is probed and the flavor's code loads, so
 * that the answers are in when the images' checksums need them. Only images whose build args
 * and contexts name no other image of the stack (their FROM lines are known before anything is
 * built), read from the Dockerfile on disk: the same references, and so the same cache keys,
 * that baseImageDigests asks for after the walk (a Dockerfile it cannot read or parse is left to
 * that). A lookup's failure is seen by the image that awaits it, as without this.
 *
 * The registry is asked here; the engine's local copies are asked by the returned function,
 * once there is a builder (the flavor's code loaded): `ref`, and when there is one and the
 * registry named a digest, `repo@digest` (resolveBase's check that the local copy is the
 * registry's image): the first for single-platform images, the second only for those that do
 * not pull, as resolveBase does.
 */
export function startBaseLookups(images: readonly ResolvedImage[], registry: ContainerRegistry | undefined, cache: BaseLookupCache, signal: AbortSignal): (builder: BaseImageBuilder) => void {
  const local = new Set<string>(); // single-platform bases: resolveBase asks the engine about them
  const compared = new Set<string>(); // …and, for images that do not pull, about repo@digest
  for (const image of images) {
    if (image.contexts && Object.keys(image.contexts).length > 0) continue;
    const text = dockerfileOnDisk(image);
    if (text === undefined) continue;
    const platforms = [...new Set(image.platforms)];
    const several = platforms.length > 1;
    for (const platform of several ? platforms : [platforms[0]]) {
      let refs: string[];
      try {
        refs = fromRefs(text, image.dockerfile ?? "Dockerfile", image.buildArgs, image.target, platform, () => false);
      } catch {
        break;
      }
      for (const ref of refs) {
        const pinned = splitReference(ref).digest;
        if (pinned !== undefined && /^sha256:[0-9a-f]{64}$/.test(pinned)) continue;
        const method = several ? "GET" : "HEAD";
        once(cache, `${method.toLowerCase()} ${ref}`, () => registryLookup(method, ref, registry, signal)).catch(() => {});
        if (several) continue;
        local.add(ref);
        if (!image.pull) compared.add(ref);
      }
    }
  }
  return (builder) => {
    for (const ref of local) {
      const remote = cache.get(`head ${ref}`) as Promise<RegistryAnswer | undefined>;
      void localId(builder, ref, cache)
        .then(async (id) => {
          const digest = id !== undefined && compared.has(ref) ? (await remote)?.digest : undefined;
          if (digest) await localId(builder, `${stripTag(ref)}@${digest}`, cache);
        })
        .catch(() => {}); // an aborted registry lookup: the image that awaits it sees it
    }
  };
}

/**
 * What `ref`'s registry says about it: HEAD gives the manifest digest, GET also the entries of
 * an index. Undefined when it cannot be asked or has no such tag.
 */
async function registryLookup(method: "HEAD" | "GET", ref: string, registry: ContainerRegistry | undefined, signal: AbortSignal): Promise<RegistryAnswer | undefined> {
  try {
    const name = parseReference(ref);
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(BASE_LOOKUP_TIMEOUT_MS)]);
    const registries = new Registries({ ...(registry ? { registry } : {}), insecureRegistries: [], signal: timeout, log() {}, blobDir: "" });
    const client = registries.client(name.host);
    if (method === "HEAD") {
      const digest = (await client.manifestHead(name.repository, referenceTarget(name)))?.digest;
      return digest ? { digest } : undefined;
    }
    const { bytes, mediaType } = await client.manifestGet(name.repository, referenceTarget(name));
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as Partial<ImageIndex>;
    const answer: RegistryAnswer = { digest: sha256(bytes) };
    if ((isIndex(mediaType) || isIndex(doc.mediaType)) && Array.isArray(doc.manifests)) answer.index = doc.manifests;
    return answer;
  } catch (e) {
    if (signal.aborted || isHelperFailure(e)) throw e; // the build would fail on it too: say it once, now
    return undefined; // unreachable, refused, unknown, not JSON: the local engine may still know it
  }
}

/** Largest Dockerfile read ahead of the walk (the walk reads any size). */
const EARLY_DOCKERFILE_BYTES = 1 << 20;

/**
 * The text of `image`'s Dockerfile as the walk will find it, or undefined when that is not known
 * yet (one the stack supplies as an extra file) or not a plain file of reasonable size (a FIFO
 * read here would be read twice).
 */
function dockerfileOnDisk(image: ResolvedImage): string | undefined {
  if (image.dockerfileInline !== undefined) return image.dockerfileInline;
  const path = image.dockerfile;
  if (path === undefined || (image.context !== undefined && image.extraFiles.some((x) => join(image.context!, x.destination) === path))) return undefined;
  return readPlainFile(path, EARLY_DOCKERFILE_BYTES);
}
