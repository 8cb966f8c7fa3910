/**
 * Several platforms with docker 20.10, whose built-in BuildKit builds one platform per `docker
 * build` and whose image store holds one platform per tag: each platform is built
 * (platform_build.ts) under a helper tag of its own, checked (its image is for its platform) and
 * pushed under that helper tag, then the index over the pushed manifests is assembled with
 * imgb's registry client and PUT under every requested tag (what `docker buildx imagetools
 * create` does).
 *
 * With BuildKit the platforms build side by side (dockerd runs two builds at once), and each
 * platform is pushed as soon as it is built, while the others still build: the pushes are not a
 * serial step after the slowest build (an emulated arm64 build takes several times the amd64
 * one). The index — the only thing under the user's tags — is PUT last, once every platform is
 * in the registry. A platform that fails is named, the others are stopped (their builds and
 * pushes), and no requested tag is written or moved. The price of the early push: a platform
 * that was pushed before a sibling failed stays in the registry under its helper tag (never
 * under a user's tag; the next build overwrites it).
 *
 * Helper tags: `docker push` needs a tag, so each platform's manifest is pushed as
 * `<repo>:imgb-platform-<os>-<arch>[-<variant>]` (one per platform and repository, overwritten by
 * the next build; the index refers to the manifests by digest, so moving them changes nothing).
 * Locally each helper tag is removed again once its push is done.
 *
 * The classic builder builds the platforms one after the other, each with --pull, and pushes
 * once all of them built: it resolves FROM through the daemon's image store, where a
 * multi-platform base has one tag for all platforms and a local copy is taken whatever its
 * platform, so each platform must pull its own, and two builds pulling it at once could each end
 * up on the other's base.
 */
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ImageBuildContext } from "../../src/builder/build_context.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { RuntimeError } from "../../src/errors.ts";
import { inRegistry, tagOf } from "../../src/image/name.ts";
import { registryClient } from "../../src/image/remote/client.ts";
import { platformManifest, putIndex } from "../../src/image/remote/create_index.ts";
import { platformHelperTag, platformString, type Platform } from "../../src/platform.ts";
import { explainFailure } from "../_engine/failure.ts";
import type { ImageReferences } from "../_engine/references.ts";
import { parsePushDigest } from "./build_argv.ts";
import { normalizePlatform } from "./platform_args.ts";
import { buildPlatform, type DockerRunner } from "./platform_build.ts";
import { allOrFirstFailure, inSequence } from "../_engine/parallel.ts";
import { join } from "node:path";

/** The helper tag a platform's manifest is pushed under (see the file comment); shared with the builder nodes' split build. */
export { platformHelperTag };

export interface MultiPlatformBuild {
  imageName: string;
  context: ImageBuildContext;
  /** Two or more platforms. */
  options: BuildOptions;
  refs: ImageReferences & { repository: string };
  registry: ContainerRegistry;
  /** `--secret`/`--ssh` flags. */
  mounts: readonly string[];
  /** Private temporary directory of the build. */
  tmp: string;
  daemon: Platform;
  /** Environment of the builds and pushes (the private login config when the stack has credentials). */
  env: Record<string, string | undefined>;
}

export interface MultiPlatformResult {
  /** The index digest. */
  digest: string;
  /** `os/arch[/variant]` -> manifest digest. */
  platforms: Record<string, string>;
}

export async function buildMultiPlatform(runner: DockerRunner, job: MultiPlatformBuild): Promise<MultiPlatformResult> {
  const platforms = distinct(job.options.platforms.map(normalizePlatform));
  const helpers = platforms.map((p) => `${job.refs.repository}:${platformHelperTag(p)}`);
  const classic = runner.config.builder === "classic";
  const repo = inRegistry(job.registry, job.refs.repository)!.repository;
  const client = registryClient(job.registry, runner.signal);
  // Per platform: the local helper tag's removal, started once the registry has the platform.
  const untags: (Promise<void> | undefined)[] = platforms.map(() => undefined);
  try {
    // A platform's image, checked: the daemon's build of the right platform.
    const build = async (p: Platform, i: number, signal?: AbortSignal) => {
      const id = await buildPlatform(runner, {
        imageName: job.imageName,
        context: job.context,
        // The classic builder takes a local image of the base's name whatever its platform: --pull
        // makes it fetch this platform's (BuildKit resolves each platform in the registry itself).
        options: { ...job.options, platforms: [platformString(p)], tags: [], pull: job.options.pull || classic },
        references: [helpers[i]!],
        iidfile: join(job.tmp, `iid-${i}`),
        mounts: job.mounts,
        daemon: job.daemon,
        logPrefix: `[${platformString(p)}] `,
        env: job.env,
        ...(signal ? { signal } : {}),
      });
      await checkPlatform(runner, job.imageName, id, p);
      return id;
    };
    // A built platform in the registry under its helper tag: its manifest, as the index lists it.
    const publish = async (id: string, i: number, signal?: AbortSignal) => {
      const digest = await push(runner, helpers[i]!, job.env, signal);
      untags[i] = runner.untag([helpers[i]!]); // meanwhile: the registry has it now
      const entry = await platformManifest(signal ? registryClient(job.registry, signal) : client, repo, digest);
      if (entry.config !== id) {
        throw new RuntimeError("push.raced", `Push of '${helpers[i]}' sent image ${entry.config}, not the ${id} just built for ${platformString(platforms[i]!)}: another build moved the tag meanwhile`, { hint: "run the build again" });
      }
      return entry;
    };
    const entries = classic
      ? await Promise.all((await inSequence(platforms, (p, i) => build(p, i))).map((id, i) => publish(id, i)))
      : await allOrFirstFailure(
          platforms.map((p, i) => async (signal: AbortSignal) => publish(await build(p, i, signal), i, signal)),
          runner.signal,
          (i) => runner.log(`[${platformString(platforms[i]!)}] stopped: another platform failed`),
        );
    // The index, under every requested tag, last.
    const index = await putIndex(client, repo, entries, job.refs.all.map(tagOf));
    return { digest: index.digest, platforms: index.platforms };
  } finally {
    // The helper tags are the daemon's business only: untag them (images of other tags stay).
    await Promise.all(untags);
    await runner.untag(helpers.filter((_, i) => untags[i] === undefined));
  }
}

/** The image the daemon built is for the platform asked (a single-platform base would not be). */
async function checkPlatform(runner: DockerRunner, imageName: string, imageId: string, want: Platform): Promise<void> {
  const got = normalizePlatform((await runner.imagePlatform(imageId)) || "unknown/unknown");
  if (platformString(got) !== platformString(want)) {
    throw new RuntimeError("build.platform-mismatch", `Build of image '${imageName}' for ${platformString(want)} made an image for ${platformString(got)}: its base image has no ${platformString(want)} variant`, {
      hint: "use a multi-platform base (an index listing every platform of the image), or set the image's platforms to what the base offers",
    });
  }
}

async function push(runner: DockerRunner, ref: string, env: Record<string, string | undefined>, signal?: AbortSignal): Promise<string> {
  let out: string;
  try {
    out = (await runner.run([runner.config.binary, "push", ref], { env, ...(signal ? { signal } : {}) })).stdout;
  } catch (e) {
    throw explainFailure(e, "push", `'${ref}'`, runner.where);
  }
  const digest = parsePushDigest(out);
  if (!digest) throw new RuntimeError("push.no-digest", `Push of '${ref}' succeeded but docker reported no manifest digest`);
  return digest;
}

function distinct(platforms: Platform[]): Platform[] {
  const seen = new Map<string, Platform>();
  for (const p of platforms) if (!seen.has(platformString(p))) seen.set(platformString(p), p);
  return [...seen.values()];
}
