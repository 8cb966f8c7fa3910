/**
 * Everything about one image that is decided before the engine runs: its build args with
 * references to other images resolved, its BuildContext (the builder's class), its build
 * options, and its checksum. Shared by `imgb build` and the plan `imgb print` shows.
 */
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import type { ImageBuildContext } from "../builder/build_context.ts";
import { defaultBuildOptions, type BuildOptions } from "../builder/build_options.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { targetRepository } from "../image/name.ts";
import { contextForImage } from "../stack/image_context.ts";
import type { ResolvedImage, ResolvedStack } from "../stack/model.ts";
import type { AnyFlavor } from "../builder/flavor.ts";
import { outputConfig } from "../builder/output_keys.ts";
import { baseImageDigests, type BaseLookupCache } from "./base_images.ts";
import { contextDigest, type FileHashCache } from "./context_digest.ts";
import { CHECKSUM_LABEL, imageChecksum } from "./image_checksum.ts";
import { resolveImageRefs, type BuiltReference } from "./refs.ts";
import { namedContexts } from "./named_contexts.ts";

export interface PreparedImage {
  image: ResolvedImage;
  /** `name:first-tag`, what the builder is asked to build. */
  imageName: string;
  /**
   * Every reference the image must end up under: `repo:tag` for each tag (`latest` without
   * tags), `repo` being the registry repository when pushed, else the local image name.
   */
  destinations: string[];
  context: ImageBuildContext;
  options: BuildOptions;
  checksum: string;
  /** Why this checksum may not be looked up in, or recorded to, the registry (machine-dependent); undefined: it may. */
  notPortable?: string;
}

/** What prepareImage also uses when the caller has it. */
export interface PrepareExtras {
  /** The flavor: only the config keys its schema marks as output keys enter the checksum. */
  flavor?: AnyFlavor;
  /** Base image lookups shared by the images of one run. */
  bases?: BaseLookupCache;
}

export async function prepareImage(
  stack: ResolvedStack,
  image: ResolvedImage,
  builder: BaseImageBuilder,
  registry: ContainerRegistry | undefined,
  built: (name: string) => BuiltReference | undefined,
  hashes: FileHashCache | undefined,
  onWarning: (message: string) => void,
  signal: AbortSignal,
  extras: PrepareExtras = {},
): Promise<PreparedImage> {
  const { context } = contextForImage(image, builder.buildContextClass, { onWarning });
  const [first, ...more] = image.tags;
  const options = defaultBuildOptions({
    buildArgs: resolveImageRefs(image.buildArgs, built),
    target: image.target,
    platforms: image.platforms,
    labels: image.labels,
    tags: more,
    noCache: image.noCache,
    pull: image.pull,
    network: image.network,
    extraFlags: image.extraFlags,
    cacheFrom: image.cacheFrom,
    cacheTo: image.cacheTo,
    annotations: image.annotations,
  });
  if (image.secrets.length) options.secrets = image.secrets;
  if (image.ssh.length) options.ssh = image.ssh;
  const named = image.contexts ? await namedContexts(image, built, hashes, signal) : undefined;
  if (named?.contexts.length) options.contexts = named.contexts;
  const imageName = first ? `${image.name}:${first}` : image.name;
  const entries = await context.fileList(); // one walk for both digests below
  // The walk is synchronous: a Ctrl-C during it is seen here, before any file is read.
  signal.throwIfAborted();
  // The files are hashed while the registry and the engine are asked about the bases.
  const [bases, digest] = await Promise.all([baseImageDigests(context, entries, options, builder, registry, signal, extras.bases), contextDigest(entries, { cache: hashes, signal })]);
  const checksum = imageChecksum({
    contextDigest: digest,
    ignoreFile: context.ignoreFile,
    dockerfile: context.dockerfile,
    options,
    flavor: stack.imageBuilder.flavor,
    flavorConfig: extras.flavor ? outputConfig(extras.flavor.config, stack.imageBuilder.config, extras.flavor.nodeKeys) : stack.imageBuilder.config,
    destination: registry ? targetRepository(registry, image.name) : undefined,
    bases: bases.digests,
    ...(bases.platforms ? { platformBases: bases.platforms } : {}),
    ...(named?.contexts.length ? { namedContexts: named.digests } : {}),
  });
  const destinations = destinationsOf(image, registry);
  const prepared: PreparedImage = { image, imageName, destinations, context, options: { ...options, labels: { ...options.labels, [CHECKSUM_LABEL]: checksum } }, checksum };
  if (bases.unresolved.length > 0) prepared.notPortable = bases.unresolved.join("; ");
  return prepared;
}

/**
 * Every reference `image` must end up under: `repo:tag` for each tag (`latest` without tags),
 * `repo` being the registry repository when pushed, else the local image name.
 */
export function destinationsOf(image: ResolvedImage, registry: ContainerRegistry | undefined): string[] {
  const repository = registry ? targetRepository(registry, image.name) : image.name;
  return [...new Set(image.tags.length > 0 ? image.tags : ["latest"])].map((t) => `${repository}:${t}`);
}
