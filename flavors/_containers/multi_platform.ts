/**
 * A multi-platform podman/buildah build: one engine build per platform (`--platform P
 * --manifest LIST`), in the stack's order, into a local manifest list named after the image;
 * then, with a registry, the list is pushed to every destination tag (manifest_list.ts).
 *
 * One engine run per platform (rather than podman's `--platform a,b`) so that a failure names
 * its platform, and the stack registry's bases are pulled for the platform about to be built.
 * Nothing is pushed before every platform has built, so a failed platform leaves no tag in the
 * registry; the local list is removed then too (the images already built stay, untagged, in the
 * layer cache).
 *
 * podman 4.3 / buildah 1.28 key their layer cache on the parent image and the instruction, not
 * the platform: a stage FROM scratch has no parent, so its linux/arm64 build takes the
 * linux/amd64 image from the cache, and `--manifest` then replaces the amd64 entry with it
 * (measured: a one-entry list whose arm64 image has an amd64 config). Such builds read no cache
 * (`--no-cache`; the cache is still written, and registry cache flags stay valid). And the list
 * is checked once built: a platform missing from it (the same image built for two platforms,
 * e.g. from a base image without that platform) is an error, never a short index.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";
import { planBuild } from "../../src/dockerfile/stages.ts";
import { InputError, RuntimeError } from "../../src/errors.ts";
import { parsePlatform } from "../../src/platform.ts";
import { explainFailure } from "../_engine/failure.ts";
import { normalizePlatform } from "../_engine/platforms.ts";
import type { ContainersBuildExtras, ContainersEngine } from "./build.ts";
import { freeListName, localListPlatforms, removeList } from "./manifest_list.ts";
import type { PullPlan } from "./pulls.ts";

export interface PlatformBuilds {
  imageName: string;
  /** The local list, named after the image: the primary reference. */
  list: string;
  contextDir: string;
  dockerfile: string;
  options: BuildOptions;
  /** The build args for one platform: the stack's and the platform args (platform_args.ts). */
  argsFor(platform: string): Record<string, string>;
  pulls: PullPlan;
  extras: ContainersBuildExtras;
  tmp: string;
}

/**
 * The platforms to build, normalized as BuildKit writes them (`linux/arm64/v8` is linux/arm64);
 * two spellings of one platform are an input error, not two entries of the index.
 */
export function distinctPlatforms(platforms: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const p of platforms) {
    const n = normalizePlatform(p);
    const earlier = seen.get(n);
    if (earlier !== undefined) {
      throw new InputError("build.platforms-duplicate", `Platforms '${earlier}' and '${p}' are the same platform (${n}): an index has one entry per platform`, { hint: "list each platform once" });
    }
    seen.set(n, p);
  }
  return [...seen.keys()];
}

/**
 * Does a stage the target needs start FROM scratch (for any of `platforms`)? Unknown (a
 * Dockerfile imgb cannot read): yes, the safe answer.
 */
export function buildsFromScratch(contextDir: string, dockerfile: string, options: Pick<BuildOptions, "buildArgs" | "target">, platforms: readonly string[]): boolean {
  try {
    const df = parseDockerfile(readFileSync(join(contextDir, dockerfile), "utf8"), dockerfile);
    return platforms.some((p) => {
      const plan = planBuild(df, options.buildArgs, parsePlatform(p), options.target);
      return plan.order.some((i) => plan.stages[i]!.base.kind === "scratch");
    });
  } catch {
    return true;
  }
}

/** Builds every platform into the local list `job.list`; on any failure the list is removed. */
export async function buildPlatforms(engine: ContainersEngine, platforms: readonly string[], job: PlatformBuilds): Promise<void> {
  const noCacheRead = !job.options.noCache && buildsFromScratch(job.contextDir, job.dockerfile, job.options, platforms);
  if (noCacheRead) engine.log(`A stage starts FROM scratch: building each platform without reading the layer cache (${engine.name} would take another platform's cached image for it)`);
  await freeListName(engine, job.list);
  try {
    for (const [i, platform] of platforms.entries()) {
      const where = { ...engine.where, platform, emulatorsHere: engine.runsHere };
      try {
        for (const p of job.pulls.prePull) await engine.run([...engine.prefix, "pull", "--platform", platform, ...p.flags, p.ref]);
        const iidfile = join(job.tmp, `iid-${i}`);
        const options = { ...job.options, buildArgs: job.argsFor(platform), pull: job.pulls.pullAlways, noCache: job.options.noCache || noCacheRead };
        await engine.run(engine.buildArgv(job.contextDir, job.dockerfile, [], options, iidfile, { ...job.extras, platform, manifest: job.list }));
      } catch (e) {
        throw explainFailure(e, "build", `image '${job.imageName}' for ${platform}`, where);
      }
    }
    const listed = Object.keys(await localListPlatforms(engine, job.list));
    const missing = platforms.filter((p) => !listed.includes(p));
    if (missing.length > 0) {
      throw new RuntimeError("build.platform-missing", `Build of image '${job.imageName}' made no ${missing.join(", ")} image: the manifest list holds ${listed.join(", ") || "nothing"}, so ${engine.name} built the same image for two platforms`, {
        hint: `check that every base image has a variant for ${missing.join(", ")} (${engine.name} warns "image platform … does not match the expected platform" and goes on), or set no_cache: true`,
      });
    }
  } catch (e) {
    await removeList(engine, job.list);
    throw e;
  }
}
