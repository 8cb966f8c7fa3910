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
 */
import { join } from "node:path";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import { InputError } from "../../src/errors.ts";
import { explainFailure } from "../_engine/failure.ts";
import { normalizePlatform } from "../_engine/platforms.ts";
import type { ContainersBuildExtras, ContainersEngine } from "./build.ts";
import { freeListName, removeList } from "./manifest_list.ts";
import type { PullPlan } from "./pulls.ts";

export interface PlatformBuilds {
  imageName: string;
  /** The local list, named after the image: the primary reference. */
  list: string;
  contextDir: string;
  dockerfile: string;
  options: BuildOptions;
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

/** Builds every platform into the local list `job.list`; on any failure the list is removed. */
export async function buildPlatforms(engine: ContainersEngine, platforms: readonly string[], job: PlatformBuilds): Promise<void> {
  await freeListName(engine, job.list);
  try {
    for (const [i, platform] of platforms.entries()) {
      const where = { ...engine.where, platform };
      try {
        for (const p of job.pulls.prePull) await engine.run([...engine.prefix, "pull", "--platform", platform, ...p.flags, p.ref]);
        const iidfile = join(job.tmp, `iid-${i}`);
        const options = { ...job.options, pull: job.pulls.pullAlways };
        await engine.run(engine.buildArgv(job.contextDir, job.dockerfile, [], options, iidfile, { ...job.extras, platform, manifest: job.list }));
      } catch (e) {
        throw explainFailure(e, "build", `image '${job.imageName}' for ${platform}`, where);
      }
    }
  } catch (e) {
    await removeList(engine, job.list);
    throw e;
  }
}
