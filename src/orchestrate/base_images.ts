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
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import type { BuildOptions } from "../builder/build_options.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import type { ContextEntry, ImageBuildContext } from "../builder/build_context.ts";
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

/** Registry answers of one run, by lookup and reference: eight images FROM one base ask once. */
export type BaseLookupCache = Map<string, Promise<RegistryAnswer | undefined>>;

export async function baseImageDigests(
  context: ImageBuildContext,
  entries: readonly ContextEntry[],
  options: BuildOptions,
  builder: BaseImageBuilder,
  registry: ContainerRegistry | undefined,
  signal: AbortSignal,
  cache: BaseLookupCache = new Map(),
): Promise<BaseImages> {
  const platforms = [...new Set(options.platforms)];
  if (platforms.length > 1) return platformBaseDigests(context, entries, options, platforms, builder, registry, signal, cache);
  const refs = baseRefs(context, entries, options, options.platforms[0]);
  const out: BaseImages = { digests: {}, unresolved: [] };
  for (const ref of refs) {
    const pinned = splitReference(ref).digest;
    if (pinned !== undefined && /^sha256:[0-9a-f]{64}$/.test(pinned)) {
      out.digests[ref] = pinned;
      continue;
    }
    let remote = cache.get(`head ${ref}`);
    if (!remote) cache.set(`head ${ref}`, (remote = registryLookup("HEAD", ref, registry, signal)));
    const digest = (await remote)?.digest;
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

/** Each platform's bases (see the file comment). */
async function platformBaseDigests(
  context: ImageBuildContext,
  entries: readonly ContextEntry[],
  options: BuildOptions,
  platforms: readonly string[],
  builder: BaseImageBuilder,
  registry: ContainerRegistry | undefined,
  signal: AbortSignal,
  cache: BaseLookupCache,
): Promise<BaseImages> {
  const out: BaseImages = { digests: {}, unresolved: [], platforms: {} };
  for (const platform of platforms) {
    const mine: Record<string, string | null> = {};
    for (const ref of baseRefs(context, entries, options, platform)) {
      const pinned = splitReference(ref).digest;
      if (pinned !== undefined && /^sha256:[0-9a-f]{64}$/.test(pinned)) {
        mine[ref] = pinned; // an index is immutable: so are the manifests it lists
        continue;
      }
      let remote = cache.get(`get ${ref}`);
      if (!remote) cache.set(`get ${ref}`, (remote = registryLookup("GET", ref, registry, signal)));
      const answer = await remote;
      if (answer) {
        // No entry for the platform: null, and the build says the base lacks it.
        mine[ref] = answer.index ? (pickPlatform(answer.index, platform) ?? null) : answer.digest;
        continue;
      }
      const local = await builder.localImageId?.(ref).catch(() => undefined);
      mine[ref] = local ?? null;
      const why = local ? `base image '${ref}' is not in a registry imgb can reach (only in the local engine)` : `base image '${ref}' cannot be resolved`;
      if (!out.unresolved.includes(why)) out.unresolved.push(why);
    }
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

function baseRefs(context: ImageBuildContext, entries: readonly ContextEntry[], options: BuildOptions, platform: string | undefined): string[] {
  try {
    const entry = entries.find((e) => e.path === context.dockerfile);
    if (!entry) return [];
    const text = entry.content ? new TextDecoder().decode(entry.content) : entry.source ? readFileSync(entry.source, "utf8") : "";
    const df = parseDockerfile(text, context.dockerfile);
    const plan = planBuild(df, options.buildArgs, parsePlatform(platform ?? "linux/amd64"), options.target);
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
