/**
 * One build with a containers-tools engine (podman, buildah), from login to digest: log in once
 * (the authfile serves the pulls of stack images and the push), write the context directory,
 * read the Dockerfile's facts (bases, Docker-only instructions), pull the stack's bases with the
 * registry's settings when the build cannot, build in the right format, push. Several platforms
 * build side by side, then make a local manifest list, pushed as one index (multi_platform.ts,
 * manifest_list.ts).
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { BuildReport } from "../../src/builder/base_image_builder.ts";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import type { BuildContext } from "../../src/context/build_context.ts";
import { cacheInStackRegistry, planPulls, planPullsWithStackCache, withNamedContexts } from "./pulls.ts";
import { loginWithContainersTools, pushWithContainersTools } from "./push.ts";
import { withContextDirectory } from "./directory_context.ts";
import { readDockerfileFacts } from "../_engine/dockerfile_facts.ts";
import { builtFormat, chooseFormat, type FormatSetting } from "./image_format.ts";
import { explainFailure } from "../_engine/failure.ts";
import { readDigestFile, withTempDir } from "../_engine/files.ts";
import { imageReferences, type ImageReferences } from "../_engine/references.ts";
import { buildMountFlags } from "../_engine/build_mounts.ts";
import { emulationError } from "./emulation_check.ts";
import { localListPlatforms, type ManifestListEngine } from "./manifest_list.ts";
import { baseNameMoved, buildAndPushPlatforms, buildPlatforms, distinctPlatforms } from "./multi_platform.ts";
import type { CreatedIndex } from "../../src/image/remote/create_index.ts";
import { MediaType } from "../../src/image/image.ts";
import { declaredPlatformArgs, withPlatformArgs } from "./platform_args.ts";
import { hostPlatform } from "../../src/emulation.ts";
import { parsePlatform, type Platform } from "../../src/platform.ts";
import { Registries } from "../../src/image/remote/registries.ts";
import { pinForeignStages, type PinnedDockerfile } from "./pin_bases.ts";

/** What the build adds to the engine's own argv: registry flags for pulls, the image format. */
export interface ContainersBuildExtras {
  registryFlags?: readonly string[];
  format?: "oci" | "docker";
  /** `--secret`/`--ssh` flags (build_mounts.ts). */
  mounts?: readonly string[];
  /** The one platform to build (a multi-platform build's current one), instead of `options.platforms`. */
  platform?: string;
}

export interface ContainersEngine extends ManifestListEngine {
  name: "podman" | "buildah";
  format: FormatSetting;
  /** Does the engine run on this machine (its binfmt_misc emulators are this machine's)? */
  runsHere: boolean;
  /** The platform its builds run on (`$BUILDPLATFORM`), when known. */
  buildPlatform?(): Promise<Platform | undefined>;
  report(r: BuildReport): void;
  log(line: string): void;
  buildArgv(contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras): string[];
}

export async function buildWithContainersTools(given: ContainersEngine, imageName: string, buildContext: BuildContext, options: BuildOptions, registry?: ContainerRegistry): Promise<string> {
  const secret = registry?.credentials?.password.reveal();
  const refs = imageReferences(imageName, options, registry);
  const platforms = distinctPlatforms(options.platforms);
  return withTempDir(given.name, (tmp) => withEngineTmp(tmp, (options.ssh?.length ?? 0) > 0, (engineTmp) => buildIn(tmp, engineTmp)));
  async function buildIn(tmp: string, engineTmp: string): Promise<string> {
    // podman and buildah put their own temp files (buildahNNNN, layer tars) in TMPDIR, and a
    // cancel that kills them leaves those behind: give them this build's private directory,
    // which is removed with it whatever happens.
    // Secret values found for the build's mounts (an env secret becomes a 0600 file in `tmp`).
    const mounts = await buildMountFlags(options, tmp);
    const hidden = [...(secret ? [secret] : []), ...mounts.redact];
    // Every call redacts the password and the secrets, and exec() then also keeps any variable holding one out of the child's environment.
    const engine: ContainersEngine = {
      ...given,
      run: (a, o = {}) => given.run(a, { ...o, env: { ...o.env, TMPDIR: engineTmp }, redact: hidden.length ? [...(o.redact ?? []), ...hidden] : o.redact }),
    };
    const iidfile = join(tmp, "iid");
    let registryFlags: string[] = [];
    let format: "oci" | "docker" = "oci";
    let pushedIndex: CreatedIndex | undefined;
    await withContextDirectory(buildContext, engine.signal, async (dir) => {
      const facts = readDockerfileFacts(dir, buildContext.dockerfile, options);
      const dockerfilePath = buildContext.root ? join(buildContext.root, buildContext.dockerfile) : buildContext.dockerfile;
      // Checked before any engine command: a refused format must not log in or pull anything.
      const chosen = chooseFormat(engine.name, engine.format, options.extraFlags, facts.dockerOnly, dockerfilePath);
      format = builtFormat(chosen, options.extraFlags);
      const noEmulator = engine.runsHere ? emulationError(dir, buildContext.dockerfile, imageName, options, platforms) : undefined;
      if (noEmulator) throw noEmulator;
      if (registry) registryFlags = await loginWithContainersTools(engine, registry, tmp);
      const bases = withNamedContexts(facts.bases, options);
      // A registry cache in the stack's registry needs its flags on the build itself (pulls.ts).
      const pulls = registry && registryFlags.length > 0 && cacheInStackRegistry(options, registry)
        ? planPullsWithStackCache(bases, options.pull, registry, registryFlags, await localImages(engine, bases ?? []))
        : planPulls(bases, options.pull, registry, registryFlags);
      const extras: ContainersBuildExtras = { registryFlags: pulls.buildFlags, format: chosen, mounts: mounts.flags };
      // BuildKit's platform args, where the engine would warn about them (platform_args.ts).
      const declared = platforms.length > 0 ? declaredPlatformArgs(dir, buildContext.dockerfile) : [];
      const argsFor = (platform: string) => withPlatformArgs(options.buildArgs, declared, platform, engine.runsHere ? hostPlatform() : undefined);
      // Stages on another platform than the image's, pinned by digest (pin_bases.ts).
      const pins = new Map<string, Promise<PinnedDockerfile | undefined>>();
      let text: string | undefined;
      const pin = (platform: string | undefined, i: number) => {
        const dockerfileText = (text ??= readTextOr(join(dir, buildContext.dockerfile), ""));
        const key = platform ?? "";
        let pending = pins.get(key);
        if (!pending) {
          pending = (engine.buildPlatform?.() ?? Promise.resolve(engine.runsHere ? hostPlatform() : undefined)).then((build) => pinForeignStages({
            text: dockerfileText,
            file: dockerfilePath,
            buildArgs: platform ? argsFor(platform) : options.buildArgs,
            target: platform ? parsePlatform(platform) : (build ?? hostPlatform()),
            ...(build ? { build } : {}),
            ...(options.target ? { targetStage: options.target } : {}),
            all: platforms.length > 1,
            // Bounded: a registry that does not answer leaves the Dockerfile as written (with a warning), it does not hold the build.
            registries: new Registries({ ...(registry ? { registry } : {}), insecureRegistries: [], signal: AbortSignal.any([engine.signal, AbortSignal.timeout(PIN_TIMEOUT_MS)]), log: () => {}, blobDir: tmp }),
            path: join(tmp, `Dockerfile.pinned-${i}`),
            log: (l) => engine.log(platform && platforms.length > 1 ? `[${platform}] ${l}` : l),
          }));
          pins.set(key, pending);
        }
        return pending;
      };
      if (platforms.length > 1) {
        const job = { imageName, list: refs.primary, contextDir: dir, dockerfile: buildContext.dockerfile, options, argsFor, pulls, extras, tmp, pin };
        if (registry) pushedIndex = await buildAndPushPlatforms(engine, platforms, job, { registry, refs, flags: registryFlags, format, annotations: options.annotations ?? {} });
        else await buildPlatforms(engine, platforms, job);
        return;
      }
      const platform = platforms.length === 1 ? ["--platform", platforms[0]!] : [];
      try {
        for (const p of pulls.prePull) await engine.run([...engine.prefix, "pull", ...platform, ...p.flags, p.ref]);
        const buildArgs = platforms.length === 1 ? argsFor(platforms[0]!) : options.buildArgs;
        const dockerfile = (await pin(platforms[0], 0))?.path ?? buildContext.dockerfile;
        const argv = engine.buildArgv(dir, dockerfile, refs.all, { ...options, buildArgs, pull: pulls.pullAlways }, iidfile, { ...extras, platform: platforms[0] });
        await engine.run(argv).catch((e: unknown) => {
          // Another build on this storage (a second node on the same machine, another imgb)
          // pulled the base for another platform and moved its name meanwhile: once more.
          if (platforms.length !== 1 || !baseNameMoved(e)) throw e;
          engine.log(`the base image's name was moved by another build's pull while this build looked it up: building again`);
          return engine.run(argv);
        });
      } catch (e) {
        throw explainFailure(e, "build", `image '${imageName}'`, { ...engine.where, platform: platforms[0], emulatorsHere: engine.runsHere });
      }
    });
    if (pushedIndex) {
      engine.report({ digest: pushedIndex.digest, platforms: pushedIndex.platforms });
      engine.log(`Pushed the ${pushedIndex.mediaType === MediaType.dockerList ? "Docker manifest list" : "OCI index"} ${refs.repository}@${pushedIndex.digest} (${Object.keys(pushedIndex.platforms).join(", ")}) to ${refs.all.join(", ")}`);
      return `${refs.repository}@${pushedIndex.digest}`;
    }
    if (platforms.length > 1) return finishLocalList(engine, refs, platforms);
    const imageId = await readDigestFile(iidfile, "image ID");
    engine.report({ imageId });
    if (!registry) return refs.primary;
    const digest = await pushWithContainersTools(engine, registry, refs, tmp, registryFlags);
    engine.report({ imageId, digest });
    return `${refs.repository}@${digest}`;
  }
}

/**
 * Without a registry, after every platform built into the local list `refs.primary`: the list is
 * the result (tagged with the other references too). Reported: the platforms and their local
 * manifest digests; no image ID, since a list has no image config (so a local list is never
 * reused by ID: it is built again). With a registry the platforms are pushed as they build and
 * the index is assembled in the registry instead (multi_platform.ts, buildAndPushPlatforms).
 */
async function finishLocalList(engine: ContainersEngine, refs: ImageReferences, platforms: readonly string[]): Promise<string> {
  const list = refs.primary;
  for (const other of refs.all.slice(1)) await engine.run([...engine.prefix, "tag", list, other]);
  const local = await localListPlatforms(engine, list);
  engine.report({ platforms: local });
  engine.log(`Built ${platforms.join(", ")} into the local manifest list '${list}' (nothing pushed: the stack has no container_registry); see it with: ${engine.name} manifest inspect ${list}`);
  return list;
}

/** The bases the engine has in its storage. */
async function localImages(engine: ContainersEngine, bases: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const ref of bases) if (await engine.localImageId(ref)) found.push(ref);
  return found;
}
/**
 * The engine's TMPDIR: `engine-tmp` in the build's directory. With ssh forwarding, buildah binds
 * its agent socket at `$TMPDIR/.buildah-ssh-sockNNNNNNNNNN/ssh_auth_sock`, and a unix socket path
 * has at most 107 bytes: when the build's directory is too deep for that (a long $TMPDIR), a
 * private directory directly under /tmp is used instead, removed the same way.
 */
async function withEngineTmp<T>(tmp: string, ssh: boolean, fn: (dir: string) => Promise<T>): Promise<T> {
  const inside = join(tmp, "engine-tmp");
  if (!ssh || inside.length + SSH_SOCKET_SUFFIX <= MAX_SOCKET_PATH) {
    await mkdir(inside, { mode: 0o700 });
    return fn(inside);
  }
  const short = await mkdtemp("/tmp/imgb-");
  try {
    return await fn(short);
  } finally {
    await rm(short, { recursive: true, force: true });
  }
}

const MAX_SOCKET_PATH = 107;
/** `/.buildah-ssh-sock` + up to 10 digits + `/ssh_auth_sock`. */
const SSH_SOCKET_SUFFIX = "/.buildah-ssh-sock".length + 10 + "/ssh_auth_sock".length;

/** How long resolving the bases of one platform's stages may take (pin_bases.ts). */
const PIN_TIMEOUT_MS = 20_000;

function readTextOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return fallback;
  }
}
