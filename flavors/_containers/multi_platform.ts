/**
 * A multi-platform podman/buildah build: one engine build per platform (`--platform P`), all
 * platforms of the image at once, each to an image of its own (`--iidfile`, no tag, no
 * `--manifest`); once every platform has built, the local manifest list named after the image
 * is created over those images (`manifest create LIST containers-storage:ID…`, manifest_list.ts)
 * and, with a registry, pushed to every destination tag.
 *
 * Why not `--manifest LIST` on each concurrent build: every build then creates or reads, extends
 * and writes the same list in the engine's storage, a race between processes. Measured with two
 * concurrent `--manifest` builds of a COPY-only Dockerfile, 4 tries each: podman 4.3 failed once
 * (one build: "creating image to hold manifest list: image name … is already associated with
 * image …", a one-entry list left), buildah 1.28 never did, which proves nothing. The list
 * created once at the end has no such race, and a failed build never touches it.
 *
 * Concurrency: every platform of the image at once, no cap (an index has a handful of
 * platforms; two is the common case). A platform that fails stops the others (their engine
 * process gets SIGTERM, the RUN step's processes are killed: exec's killTree), is named in the
 * error, and nothing is pushed: no list is left and no tag is written (the images already built
 * stay, untagged, in the layer cache). A podman service (`--remote`) is the exception to the
 * stopping: podman 4.3 goes on with a build whose client went away, so the stopped platform
 * builds on there to an untagged image (measured; nothing is added to a list or pushed).
 *
 * Bases pulled before the build (pulls.ts: a base in the stack's registry next to one outside
 * it, or a registry cache there): `pull --platform P REF` names the pulled image REF, so a pull
 * for the other platform moves that name. When every such base is pinned by digest in every
 * platform's Dockerfile (pin_bases.ts), no build resolves the name and the platforms still
 * build side by side; otherwise (a base imgb could not resolve) each platform's pull runs right
 * before its own build, and the next platform waits for it.
 *
 * One engine run per platform (rather than podman's `--platform a,b`) so that a failure names
 * its platform, and a platform's log lines carry its name (`[linux/arm64] …`).
 *
 * podman 4.3 / buildah 1.28 key their layer cache on the parent image and the instruction, not
 * the platform: a stage FROM scratch has no parent, so its linux/arm64 build takes the
 * linux/amd64 image from the cache (measured: an arm64 image with an amd64 config). Such builds
 * read no cache (`--no-cache`; the cache is still written, and registry cache flags stay valid).
 * And the platforms are checked once built: two platforms that made the same image, or a list
 * (whose entries take os/architecture from each image's config) missing a platform — an image
 * built from a base without that platform — is an error, never a short index.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";
import { planBuild } from "../../src/dockerfile/stages.ts";
import { InputError, RuntimeError } from "../../src/errors.ts";
import { ExecError } from "../../src/exec.ts";
import { inRegistry } from "../../src/image/name.ts";
import { registryClient } from "../../src/image/remote/client.ts";
import { platformManifest, putIndex, type CreatedIndex } from "../../src/image/remote/create_index.ts";
import type { PlatformManifest } from "../../src/image/platform_index.ts";
import { parsePlatform, platformHelperTag, platformString } from "../../src/platform.ts";
import { explainFailure } from "../_engine/failure.ts";
import { readDigestFile } from "../_engine/files.ts";
import { hasFlag } from "../_engine/flags.ts";
import { allOrFirstFailure, inSequence } from "../_engine/parallel.ts";
import { normalizePlatform } from "../_engine/platforms.ts";
import { tagOf, type ImageReferences } from "../_engine/references.ts";
import type { ContainersBuildExtras, ContainersEngine } from "./build.ts";
import { freeListName, localListPlatforms, manifestCreateArgv, removeList } from "./manifest_list.ts";
import type { PullPlan } from "./pulls.ts";
import { registryManifestDigest } from "./registry_digest.ts";
import type { PinnedDockerfile } from "./pin_bases.ts";

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
  /** A Dockerfile for `platform` with its stages pinned by digest (pin_bases.ts), if it has any. */
  pin?: (platform: string, i: number) => Promise<PinnedDockerfile | undefined>;
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

/**
 * Without a registry: builds every platform, then the local list `job.list` over their images;
 * on any failure the list is removed.
 */
export async function buildPlatforms(engine: ContainersEngine, platforms: readonly string[], job: PlatformBuilds): Promise<void> {
  refuseIidfile(job, platforms);
  // Meanwhile the name is freed (an earlier list or image of that name): the list needs it only
  // once every platform has built. Settled (an error is kept, not thrown) so that a failed build
  // can wait for it before removing the list.
  const freeing = freeListName(engine, job.list).then(() => undefined, (e: unknown) => ({ error: e }));
  try {
    const ids = await eachPlatform(engine, platforms, job, async (id) => id);
    refuseSameImage(engine, job.imageName, platforms, ids);
    const freed = await freeing;
    if (freed) throw freed.error;
    await engine.run(manifestCreateArgv(engine.prefix, job.list, ids), { onStdout: () => {} });
    const listed = Object.keys(await localListPlatforms(engine, job.list));
    const missing = platforms.filter((p) => !listed.includes(p));
    if (missing.length > 0) throw platformMissing(engine, job.imageName, missing, `the manifest list holds ${listed.join(", ") || "nothing"}`);
  } catch (e) {
    await freeing;
    await removeList(engine, job.list);
    throw e;
  }
}

/** Where the platforms of a build with a registry go. */
export interface PlatformPushes {
  registry: ContainerRegistry;
  refs: ImageReferences;
  /** `--tls-verify`/`--authfile` (push.ts). */
  flags: readonly string[];
  format: "oci" | "docker";
  annotations: Readonly<Record<string, string>>;
}

/**
 * With a registry: every platform is pushed as soon as it is built (while the others still
 * build), by image ID under its helper tag `<repo>:imgb-platform-<os>-<arch>` (the tag docker's
 * multi-platform path and the builder nodes' split use), and checked in the registry: the
 * manifest's config is the image just built and names the platform asked. Then imgb assembles
 * the index over those manifests (src/image/remote/create_index.ts) and PUTs it under every
 * requested tag, last, with the image's annotations on it.
 *
 * Why not the local list and `manifest push --all`: that is three more engine runs after the
 * last build (`manifest create`, `manifest inspect`, then a push of every platform, one after the
 * other, per tag), measured at ~0.5 s of a 2.6 s two-platform build with no RUN work; here the
 * only step after the slowest platform's build is its own push and one PUT per tag. Nothing
 * is tagged locally (the push names the image by ID), so no local list is left either; a
 * platform pushed before a sibling failed stays in the registry under its helper tag only.
 */
export async function buildAndPushPlatforms(engine: ContainersEngine, platforms: readonly string[], job: PlatformBuilds, to: PlatformPushes): Promise<CreatedIndex> {
  refuseIidfile(job, platforms);
  const name = inRegistry(to.registry, to.refs.repository!);
  if (!name) throw new RuntimeError("push.no-digest", `Image '${job.imageName}' (${to.refs.repository}) is not in the stack's registry ${to.registry.uri}: its platforms cannot be assembled into an index there`);
  const entries = await eachPlatform(engine, platforms, job, (id, i, signal) => pushPlatform(engine, job, to, name.repository, platforms[i]!, id, i, signal));
  refuseSameImage(engine, job.imageName, platforms, entries.map((e) => e.config!));
  return putIndex(registryClient(to.registry, engine.signal), name.repository, entries, to.refs.all.map(tagOf), to.annotations);
}

/** One built platform in the registry, checked: its index entry. */
async function pushPlatform(engine: ContainersEngine, job: PlatformBuilds, to: PlatformPushes, repo: string, platform: string, id: string, i: number, signal?: AbortSignal): Promise<PlatformManifest> {
  const helper = `${to.refs.repository}:${platformHelperTag(parsePlatform(platform))}`;
  const digestfile = join(job.tmp, `digest-${i}`);
  const log = (line: string) => engine.log(`[${platform}] ${line}`);
  const argv = [...engine.prefix, "push", ...to.flags, "--format", to.format === "docker" ? "v2s2" : "oci"];
  if (engine.digestFile) argv.push("--digestfile", digestfile);
  argv.push(id.replace(/^sha256:/, ""), `docker://${helper}`);
  try {
    await engine.run(argv, { onStdout: log, onStderr: log, ...(signal ? { signal } : {}) });
  } catch (e) {
    throw explainFailure(e, "push", `'${helper}' (image '${job.imageName}' for ${platform})`, engine.where);
  }
  const digest = engine.digestFile ? await readDigestFile(digestfile, "manifest digest") : await registryManifestDigest(to.registry, to.refs.repository!, tagOf(helper), signal);
  const entry = await platformManifest(registryClient(to.registry, signal ?? engine.signal), repo, digest);
  if (entry.config !== `sha256:${id.replace(/^sha256:/, "")}`) {
    throw new RuntimeError("push.raced", `Push of '${helper}' sent image ${entry.config}, not the ${id} just built for ${platform}: another build moved the tag meanwhile`, { hint: "run the build again" });
  }
  const got = normalizePlatform(platformString(entry.platform));
  if (got !== platform) throw platformMissing(engine, job.imageName, [platform], `the image built for it is for ${got}`);
  return entry;
}

function refuseIidfile(job: PlatformBuilds, platforms: readonly string[]): void {
  if (hasFlag(job.options.extraFlags, "--iidfile")) {
    throw new InputError("build.platforms-iidfile", `Image '${job.imageName}': extra flag --iidfile cannot be used with several platforms (${platforms.join(", ")}): each platform's build writes its own image ID, which imgb reads to make the manifest list`, { hint: "remove --iidfile from the image's extra flags" });
  }
}

/**
 * Builds every platform side by side (one after the other when bases are pre-pulled, see the
 * file comment) and runs `then` on each platform's image ID as soon as that platform is built;
 * the results in platform order. The first failure stops the other platforms (their builds and
 * their `then`).
 */
async function eachPlatform<T>(engine: ContainersEngine, platforms: readonly string[], job: PlatformBuilds, then: (id: string, i: number, signal?: AbortSignal) => Promise<T>): Promise<T[]> {
  const noCacheRead = !job.options.noCache && buildsFromScratch(job.contextDir, job.dockerfile, job.options, platforms);
  if (noCacheRead) engine.log(`A stage starts FROM scratch: building each platform without reading the layer cache (${engine.name} would take another platform's cached image for it)`);
  const build = (platform: string, i: number, signal?: AbortSignal) => buildPlatform(engine, job, platform, i, noCacheRead, signal);
  if (job.pulls.prePull.length > 0 && !(await prePullsPinned(platforms, job))) return inSequence(platforms, async (p, i) => then(await build(p, i), i));
  const side = await allOrFirstFailure(
    platforms.map((p, i) => async (signal: AbortSignal) => {
      // The race is over once the other pull is done: at once again, twice; then alone, last.
      for (let attempt = 1; ; attempt++) {
        let id: string;
        try {
          id = await build(p, i, signal);
        } catch (e) {
          if (!(e instanceof BaseNameMoved) || signal.aborted) throw e;
          if (attempt > IMMEDIATE_RETRIES) return e;
          engine.log(`[${p}] ${e.message}: building ${p} again`);
          continue;
        }
        return { done: await then(id, i, signal) };
      }
    }),
    engine.signal,
    (i) => engine.log(`[${platforms[i]}] stopped: another platform failed`),
  );
  // A platform whose base name the other platform's pull moved: built again, alone.
  return inSequence(platforms, async (p, i) => {
    const first = side[i]!;
    if (!(first instanceof BaseNameMoved)) return first.done;
    engine.log(`[${p}] ${first.message}: building ${p} again, after the other platforms`);
    return then(await build(p, i), i);
  });
}

/**
 * Can the platforms pull their bases first side by side? When every base pulled first is, in
 * every platform's Dockerfile, pinned to that platform's manifest by digest (pin_bases.ts): the
 * pulls still move the base's name under each other, but no build resolves that name — each
 * finds its platform's image by digest.
 */
async function prePullsPinned(platforms: readonly string[], job: PlatformBuilds): Promise<boolean> {
  if (!job.pin) return false;
  const pins = await Promise.all(platforms.map((p, i) => job.pin!(p, i)));
  return pins.every((pin) => job.pulls.prePull.every((pull) => pin?.pinned.some((x) => x.ref === pull.ref && !x.foreign)));
}

/** One platform's pulls and build; returns its image ID. */
async function buildPlatform(engine: ContainersEngine, job: PlatformBuilds, platform: string, i: number, noCacheRead: boolean, signal?: AbortSignal): Promise<string> {
  const where = { ...engine.where, platform, emulatorsHere: engine.runsHere };
  const log = (line: string) => engine.log(`[${platform}] ${line}`);
  const run = (argv: string[]) => engine.run(argv, { onStdout: log, onStderr: log, ...(signal ? { signal } : {}) });
  const iidfile = join(job.tmp, `iid-${i}`);
  try {
    for (const p of job.pulls.prePull) await run([...engine.prefix, "pull", "--platform", platform, ...p.flags, p.ref]);
    const options = { ...job.options, buildArgs: job.argsFor(platform), pull: job.pulls.pullAlways, noCache: job.options.noCache || noCacheRead };
    const dockerfile = (await job.pin?.(platform, i))?.path ?? job.dockerfile;
    await run(engine.buildArgv(job.contextDir, dockerfile, [], options, iidfile, { ...job.extras, platform }));
  } catch (e) {
    if (signal && baseNameMoved(e)) throw new BaseNameMoved();
    throw explainFailure(e, "build", `image '${job.imageName}' for ${platform}`, where);
  }
  return readDigestFile(iidfile, "image ID");
}

/** Two platforms that built the same image ID: the later ones made no image of their own. */
function refuseSameImage(engine: ContainersEngine, imageName: string, platforms: readonly string[], ids: readonly string[]): void {
  const missing = platforms.filter((_, i) => ids.indexOf(ids[i]!) !== i);
  if (missing.length === 0) return;
  const holders = [...new Set(ids)].map((id) => platforms[ids.indexOf(id)]!);
  throw platformMissing(engine, imageName, missing, `the builds made images for ${holders.join(", ")} only`);
}

function platformMissing(engine: ContainersEngine, imageName: string, missing: readonly string[], what: string): RuntimeError {
  return new RuntimeError("build.platform-missing", `Build of image '${imageName}' made no ${missing.join(", ")} image: ${what}, so ${engine.name} built the same image for two platforms`, {
    hint: `check that every base image has a variant for ${missing.join(", ")} (${engine.name} warns "image platform … does not match the expected platform" and goes on), or set no_cache: true`,
  });
}

/** Immediate rebuilds of a platform whose base name was moved (see BaseNameMoved) before it waits for the others. */
const IMMEDIATE_RETRIES = 2;

/**
 * Two platforms that build FROM one tag pull it at the same time, each for its platform, and
 * `containers/storage` has one image per name: each pull moves the name to its platform's image,
 * and a build that looks the name up again for its platform right after its pull may find the
 * other platform's image there (podman 4.3 / buildah 1.28: "creating build container: locating
 * pulled image … name in containers storage: …: image not known"; seen several times in the
 * end-to-end tests here). Not a failure of the platform: it is built again at once (the other
 * pull has usually finished by then, so the retry's own pull and lookup agree), and after
 * IMMEDIATE_RETRIES such failures, alone, once the others are done.
 */
class BaseNameMoved extends Error {
  constructor() {
    super("the base image's name was moved by the other platform's pull while this build looked it up");
  }
}

export function baseNameMoved(e: unknown): boolean {
  return e instanceof ExecError && /locating pulled image .* name in containers storage: .*image not known/.test(e.tail.join("\n"));
}
