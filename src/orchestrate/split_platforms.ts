/**
 * One multi-platform image split over builder nodes (issue #16): when no node builds all of an
 * image's platforms natively, the scheduler gives each platform its own node (placement.ts
 * `choose`), and here each node builds its platform as a single-platform build, pushed to the
 * stack's registry under the platform's helper tag (`<repo>:imgb-platform-<os>-<arch>`, the
 * docker flavor's convention, src/platform.ts), never under the user's tags. Then imgb itself
 * assembles the index over the pushed manifests (create_index.ts) and PUTs it under every
 * requested tag, last. Flavor-agnostic: the nodes only ever run the flavor's one-platform build,
 * so docker and podman nodes both work.
 *
 * What a failure leaves: a platform that fails stops its siblings (Parts.run) and fails the
 * image naming the platform and the node; no requested tag is written or moved (the index goes
 * last; helper tags may have moved, and refer to nothing the user asked for). Each manifest's
 * config must say the platform asked: a base without that platform would silently give the
 * engine's own. Each node keeps its platform's image under the helper tag locally, like a
 * single-platform build keeps its tags.
 */
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import type { BuildOptions } from "../builder/build_options.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { ImgbError, InputError, RuntimeError } from "../errors.ts";
import { inRegistry, stripTag, tagOf } from "../image/name.ts";
import { registryClient } from "../image/remote/client.ts";
import { platformManifest, putIndex } from "../image/remote/create_index.ts";
import type { PlatformManifest } from "../image/platform_index.ts";
import { normalizePlatform, parsePlatform, platformHelperTag, platformString } from "../platform.ts";
import type { PreparedImage } from "./prepare.ts";
import type { Parts } from "./schedule.ts";

export interface SplitBuild {
  /** The stack's image name, for messages. */
  image: string;
  prepared: PreparedImage;
  registry: ContainerRegistry | undefined;
  parts: Parts;
  /** The whole image's signal (a part's own signal also stops when a sibling fails). */
  signal: AbortSignal;
  log(line: string): void;
  /** A builder on `node` that logs with `prefix` and stops with `signal`. */
  builderFor(node: string, prefix: string, signal: AbortSignal): BaseImageBuilder;
  /** Runs the flavor's build of `imageName` with `options` (the contract call, its errors blamed on the flavor). */
  build(builder: BaseImageBuilder, imageName: string, options: BuildOptions): Promise<string>;
  /** After a part failed on `node`: an error saying the node is down (the part moves), else undefined. */
  nodeDown(node: string, error: unknown): Promise<Error | undefined>;
}

export interface SplitResult {
  /** `repo@<index digest>`. */
  ref: string;
  digest: string;
  /** platform -> manifest digest, in the stack's platform order. */
  platforms: Record<string, string>;
  /** platform -> the node that built it. */
  nodes: Record<string, string>;
}

export async function buildSplit(job: SplitBuild): Promise<SplitResult> {
  const { registry, prepared } = job;
  const repository = stripTag(prepared.destinations[0]!);
  const name = registry ? inRegistry(registry, repository) : undefined;
  if (!registry || !name) {
    // resolveNodes refuses several nodes without a registry; a caller as a library hears it too.
    throw new InputError("build.split-needs-registry", `Image '${job.image}' is split over builder nodes, which needs a container_registry: the platforms built on each node meet only there`, { hint: "add a container_registry every node can push to" });
  }
  const nodes: Record<string, string> = {};
  const entries = await job.parts.run(async (platform, node, signal): Promise<PlatformManifest> => {
    const want = normalizePlatform(platform);
    const prefix = `[${want} on ${node}] `;
    try {
      const builder = job.builderFor(node, prefix, signal);
      const imageName = `${stripTag(prepared.imageName)}:${platformHelperTag(parsePlatform(want))}`;
      const ref = await job.build(builder, imageName, { ...prepared.options, platforms: [want], tags: [] });
      const digest = ref.slice(ref.lastIndexOf("@") + 1);
      if (!ref.includes("@sha256:")) throw new RuntimeError("build.split-not-pushed", `The build of ${want} returned '${ref}', not a pushed manifest digest: the flavor did not push it to the stack's registry`);
      const entry = await platformManifest(registryClient(registry, signal), name.repository, digest);
      const got = normalizePlatform(platformString(entry.platform));
      if (got !== want) {
        throw new RuntimeError("build.platform-mismatch", `The build for ${want} made an image for ${got}: its base image has no ${want} variant`, {
          hint: "use a multi-platform base (an index listing every platform of the image), or set the image's platforms to what the base offers",
        });
      }
      nodes[want] = node;
      job.log(`${prefix}pushed ${repository}@${digest}`);
      return entry;
    } catch (e) {
      if (signal.aborted) {
        if (!job.signal.aborted) job.log(`${prefix}stopped: another platform failed`);
        throw e;
      }
      const down = await job.nodeDown(node, e);
      if (down) throw down;
      throw onPlatform(e, job.image, want, node);
    }
  });
  // Last: the only write under the user's tags.
  const index = await putIndex(registryClient(registry, job.signal), name.repository, entries, prepared.destinations.map(tagOf));
  return { ref: `${repository}@${index.digest}`, digest: index.digest, platforms: index.platforms, nodes };
}

/** A part's failure, naming the image, the platform and the node (code and hint kept). */
function onPlatform(e: unknown, image: string, platform: string, node: string): Error {
  const message = `Image '${image}' failed for ${platform} on builder node '${node}': ${e instanceof Error ? e.message : String(e)}`;
  if (!(e instanceof ImgbError)) return new RuntimeError("build.platform-failed", message, { cause: e });
  const options = { cause: e, ...(e.hint ? { hint: e.hint } : {}) };
  return e instanceof InputError ? new InputError(e.code, message, options) : new RuntimeError(e.code, message, options);
}
