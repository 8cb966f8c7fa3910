/**
 * Builds with a Docker daemon through the docker CLI: the context goes in as a tar on stdin
 * (`docker build -f PATH -`), `--iidfile` gives the image ID, `docker push` prints the manifest
 * digest. Registry logins happen in a private DOCKER_CONFIG unless `config_dir` is set.
 */
import { join } from "node:path";
import { BaseImageBuilder } from "../../src/builder/base_image_builder.ts";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { registryHost } from "../../src/image/name.ts";
import type { ProbeResult } from "../../src/builder/flavor.ts";
import type { BuildContext } from "../../src/context/build_context.ts";
import { InputError, RuntimeError } from "../../src/errors.ts";
import { exec, ExecError, type ExecOptions } from "../../src/exec.ts";
import { contextDockerfileFacts } from "../_engine/dockerfile_facts.ts";
import { explainFailure } from "../_engine/failure.ts";
import { withTempDir } from "../_engine/files.ts";
import { singlePlatform } from "../_engine/flags.ts";
import { imageReferences } from "../_engine/references.ts";
import { buildMountFlags, refuseMounts } from "../_engine/build_mounts.ts";
import { CLASSIC_MOUNTS_HINT, CLASSIC_NO_MOUNTS, dockerEnv, parsePushDigest, type Config } from "./build_argv.ts";
import { buildMultiPlatform } from "./multi_platform.ts";
import { daemonApi } from "./daemon_api.ts";
import { daemonPlatform } from "./platform_args.ts";
import { buildPlatform, type DockerRunner } from "./platform_build.ts";
import { chooseBuilder, knownClientVersion } from "./builder_choice.ts";
import type { Platform } from "../../src/platform.ts";

const INSTALL_HINT = "Install the docker CLI (Debian/Ubuntu: apt-get install docker.io) or set the flavor's `binary`";

export { unixSocket } from "./daemon_api.ts";
export { CLASSIC_MOUNTS_HINT, CLASSIC_NO_MOUNTS, dockerBuildArgv, dockerEnv, parsePushDigest } from "./build_argv.ts";

export class DockerImageBuilder extends BaseImageBuilder<Config> {
  private get where() {
    return { engine: `the Docker daemon at ${JSON.stringify(this.config.host ?? process.env.DOCKER_HOST ?? "unix:///var/run/docker.sock")}` };
  }

  private run(argv: string[], options: ExecOptions = {}) {
    const log = (line: string) => this.env.log(line);
    // SIGINT, repeated: the docker 20.10 CLI cancels a BuildKit build on SIGINT only (a single
    // SIGTERM lets it finish), ignores one that comes while the build starts, and gives up on the
    // third; closing its session makes the daemon cancel the build.
    return exec(argv, { signal: this.env.signal, killSignal: "SIGINT", killRepeatMs: 500, onStdout: log, onStderr: log, installHint: INSTALL_HINT, redact: this.secrets, ...options });
  }

  /** The registry password: redacted, and exec() keeps any variable holding it out of docker's environment. */
  private secrets: string[] = [];

  async build(imageName: string, buildContext: BuildContext, options: BuildOptions, registry?: ContainerRegistry): Promise<string> {
    const refs = imageReferences(imageName, options, registry);
    // Added to, never replaced: a build running beside this one keeps its values redacted.
    if (registry?.credentials) this.secrets.push(registry.credentials.password.reveal());
    const multi = new Set(options.platforms).size > 1;
    if (multi && !registry) {
      // staticCheck refuses this before any build; a builder used as a library says it too.
      throw new InputError("build.platforms-need-registry", `The docker flavor cannot keep image '${imageName}' for several platforms without a registry: docker's image store holds one platform per tag`, { hint: "add a container_registry (the platforms are pushed as one index), or list one platform" });
    }
    return withTempDir("docker", async (tmp) => {
      // With credentials: log in to a private DOCKER_CONFIG (removed with `tmp`) unless config_dir
      // is set, before the build, so that bases from the stack's registry are pulled with it. The
      // build itself keeps the user's config (their other logins, their CLI plugins). Without
      // credentials: push with the user's own config, where an earlier `docker login` lives.
      const env = dockerEnv(this.config, registry?.credentials ? (this.config.config_dir ?? join(tmp, "config")) : undefined);
      if (registry?.credentials) {
        await this.login(registry, env);
        // Several platforms cannot be pulled into one local tag: their builds pull with the login.
        if (!multi) await this.pullStackBases(imageName, buildContext, options, registry, env);
      }
      // `builder: auto` becomes buildkit or classic here (builder_choice.ts).
      const config: Config = { ...this.config, builder: await chooseBuilder(this.config, `'${imageName}'`, buildContext, options, dockerEnv(this.config), (l) => this.env.log(l)) };
      const runner = this.runnerFor(config);
      if (config.builder === "classic") await this.noteMissingCacheSources(options);
      if (config.builder === "classic") refuseMounts("docker flavor", options, CLASSIC_NO_MOUNTS, CLASSIC_MOUNTS_HINT);
      // Secret values are redacted from here on; an env secret becomes a 0600 file in `tmp`.
      const mounts = await buildMountFlags(options, tmp);
      this.secrets.push(...mounts.redact);
      // The classic builder gets BuildKit's platform args from the daemon's platform; a foreign
      // platform's failure is explained against it.
      const daemon = multi || config.builder === "classic" ? await this.daemonPlatform(imageName) : undefined;
      if (multi) {
        const result = await buildMultiPlatform(runner, { imageName, context: buildContext, options, refs: refs as typeof refs & { repository: string }, registry: registry!, mounts: mounts.flags, tmp, daemon: daemon!, env: registry?.credentials ? dockerEnv(config, env.DOCKER_CONFIG) : dockerEnv(config) });
        this.env.report({ digest: result.digest, platforms: result.platforms });
        return `${refs.repository}@${result.digest}`;
      }
      const imageId = await buildPlatform(runner, { imageName, context: buildContext, options, references: refs.all, iidfile: join(tmp, "iid"), mounts: mounts.flags, ...(daemon ? { daemon } : {}) });
      this.env.report({ imageId });
      if (!registry) return refs.primary;
      let digest: string | undefined;
      for (const ref of refs.all) {
        let pushed;
        try {
          pushed = await this.run([this.config.binary, "push", ref], { env });
        } catch (e) {
          throw explainFailure(e, "push", `'${ref}'`, this.where);
        }
        if (ref === refs.primary) digest = parsePushDigest(pushed.stdout) ?? (await this.repoDigest(refs.primary, refs.repository!));
      }
      if (!digest) throw new RuntimeError("push.no-digest", `Push of '${refs.primary}' succeeded but docker reported no manifest digest`);
      this.env.report({ imageId, digest });
      return `${refs.repository}@${digest}`;
    });
  }

  /** This builder's docker calls, for the per-platform build (platform_build.ts), with `config`'s builder. */
  private runnerFor(config: Config): DockerRunner {
    return {
      config,
      where: this.where,
      signal: this.env.signal,
      log: (line) => this.env.log(line),
      run: (argv, options) => this.run(argv, options),
      inspect: async (reference, format) => (await exec([this.config.binary, "image", "inspect", "--format", format, reference], { env: dockerEnv(this.config), signal: this.env.signal })).stdout.trim(),
      imagePlatform: async (reference) => {
        const image = await this.api.get<{ Os?: string; Architecture?: string; Variant?: string }>(`/images/${encodeURIComponent(reference)}/json`);
        if (image) return `${image.Os}/${image.Architecture}${image.Variant ? `/${image.Variant}` : ""}`;
        return (await exec([this.config.binary, "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}{{if .Variant}}/{{.Variant}}{{end}}", reference], { env: dockerEnv(this.config), signal: this.env.signal })).stdout.trim();
      },
      // noprune: the classic builder's cache is the untagged parent images, which must stay.
      untag: async (references) => {
        const viaApi = await Promise.all(references.map((r) => this.api.delete(`/images/${encodeURIComponent(r)}?noprune=1`)));
        const rest = references.filter((_, i) => viaApi[i] === undefined);
        if (rest.length > 0) await exec([this.config.binary, "image", "rm", "--no-prune", ...rest], { env: dockerEnv(this.config) }).catch(() => {});
      },
    };
  }

  private daemon?: Promise<Platform>;

  /** The daemon's own platform (`docker version`), asked once per builder; a failure is the build's of `imageName`. */
  private daemonPlatform(imageName: string): Promise<Platform> {
    const viaCli = () => exec([this.config.binary, "version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"], { env: dockerEnv(this.config), signal: this.env.signal, installHint: INSTALL_HINT }).then((r) => r.stdout);
    this.daemon ??= this.api
      .get<{ Os?: string; Arch?: string }>("/version")
      .then((v) => (v?.Os && v.Arch ? `${v.Os}/${v.Arch}` : viaCli()))
      .then((text) => daemonPlatform(text))
      .catch((e: unknown) => {
        this.daemon = undefined;
        throw explainFailure(e, "build", `image '${imageName}'`, this.where);
      });
    return this.daemon;
  }

  /**
   * Pulls, with the registry login in `env`, the bases in the stack's registry the daemon does
   * not have (an image of the stack built elsewhere, or removed since): the build would pull
   * them without the credentials and get 401.
   */
  private async pullStackBases(imageName: string, context: BuildContext, options: BuildOptions, registry: ContainerRegistry, env: Record<string, string | undefined>): Promise<void> {
    const host = registryHost(registry);
    const bases = ((await contextDockerfileFacts(context, options)).bases ?? []).filter((ref) => ref.startsWith(`${host}/`));
    for (const ref of bases) {
      if (await this.localImageId(ref)) continue;
      try {
        await this.run([this.config.binary, "pull", ...singlePlatform("docker", options), ref], { env });
      } catch (e) {
        throw explainFailure(e, "build", `image '${imageName}'`, this.where);
      }
    }
  }

  /** The classic builder reads --cache-from only from images in the daemon: say which are not (it would not). */
  private async noteMissingCacheSources(options: BuildOptions): Promise<void> {
    for (const ref of options.cacheFrom ?? []) {
      if (!(await this.localImageId(ref))) this.env.log(`note: cache_from '${ref}' is not in the daemon, and the classic builder does not pull cache: it will not be used (pull it first, or set builder: buildkit)`);
    }
  }

  private async login(registry: ContainerRegistry, env: Record<string, string | undefined>): Promise<void> {
    const { username, password } = registry.credentials!;
    const host = registryHost(registry);
    try {
      // The password goes to stdin only: never argv (visible in /proc), never a log line.
      await this.run([this.config.binary, "login", "--username", username, "--password-stdin", host], { env, stdin: password.reveal() });
    } catch (e) {
      throw explainFailure(e, "login", `registry '${host}'`, this.where);
    }
  }

  override async localImageId(reference: string): Promise<string | undefined> {
    // A read-only question: over the daemon's unix socket it takes ~2 ms, the CLI ~35 ms
    // (and imgb asks it for every base image of every build, to decide reuse).
    const found = await this.api.get<{ Id?: string }>(`/images/${encodeURIComponent(reference)}/json`);
    if (found === null) return undefined;
    if (found) return found.Id || undefined;
    try {
      return (await this.inspectId(reference)) || undefined;
    } catch {
      return undefined;
    }
  }

  private get api() {
    const env = process.env;
    // TLS is the CLI's to set up (certificates): asked for anywhere, the API is not used over tcp://.
    const tls = this.config.tls_verify === true || Boolean(this.config.cert_path || env.DOCKER_TLS_VERIFY || env.DOCKER_TLS || env.DOCKER_CERT_PATH);
    return daemonApi(this.config.host ?? env.DOCKER_HOST, this.env.signal, tls);
  }

  /** `docker tag` takes one target per run. */
  override async tagImage(source: string, targets: readonly string[]): Promise<void> {
    for (const target of targets) await this.run([this.config.binary, "tag", source, target], { env: dockerEnv(this.config) });
  }

  private async inspectId(reference: string): Promise<string> {
    const r = await exec([this.config.binary, "image", "inspect", "--format", "{{.Id}}", reference], { env: dockerEnv(this.config), signal: this.env.signal });
    return r.stdout.trim();
  }

  /** Fallback when the push output had no digest line: the daemon records it in RepoDigests. */
  private async repoDigest(reference: string, repository: string): Promise<string | undefined> {
    const r = await exec([this.config.binary, "image", "inspect", "--format", "{{json .RepoDigests}}", reference], { env: dockerEnv(this.config), signal: this.env.signal });
    const digests = JSON.parse(r.stdout || "[]") as string[];
    return digests.find((d) => d.startsWith(`${repository}@`))?.slice(repository.length + 1);
  }
}

/** Cheap availability check: the CLI runs, reaches the daemon, and can use the chosen builder. */
export async function probeDocker(config: Config): Promise<ProbeResult> {
  let versions: string;
  let platform: string;
  try {
    const out = (await exec([config.binary, "version", "--format", "{{.Client.Version}} {{.Server.Version}} {{.Server.Os}}/{{.Server.Arch}}"], { env: dockerEnv(config), installHint: INSTALL_HINT })).stdout.trim();
    [versions, platform] = [out.split(" ").slice(0, 2).join(" "), out.split(" ")[2] ?? ""];
  } catch (e) {
    const err = e as RuntimeError;
    if (err.code === "exec.not-found") return { available: false, reason: err.message, hint: INSTALL_HINT };
    const where = config.host ?? process.env.DOCKER_HOST ?? "the default socket";
    return { available: false, reason: `The Docker daemon at ${where} is not reachable: ${firstLine(err)}`, hint: "start dockerd or set the flavor's `host`" };
  }
  const clientMajor = Number(versions.split(".")[0]);
  knownClientVersion(config.binary, versions.split(" ")[0]!);
  // Since docker 23 the CLI's BuildKit path is the buildx plugin; older CLIs have it built in.
  // builder: auto builds with the classic builder then, when the Dockerfile allows (builder_choice.ts).
  if (config.builder === "buildkit" && clientMajor >= 23) {
    try {
      await exec([config.binary, "buildx", "version"], { env: dockerEnv(config) });
    } catch {
      return {
        available: false,
        reason: `BuildKit needs the buildx plugin with docker CLI ${versions.split(" ")[0]}, and it is missing`,
        hint: "point the flavor's `binary:` at a docker CLI that has BuildKit (one with buildx, or < 23 such as /usr/bin/docker), install docker-buildx (apt-get install docker-buildx), or set `builder: auto` (classic when the Dockerfile allows) or `builder: classic`",
      };
    }
  }
  const server = versions.split(" ")[1];
  return { available: true, ...(server ? { version: `docker ${server}` } : {}), ...(/^[a-z0-9]+\/[a-z0-9]+/.test(platform) ? { platforms: [platform] } : {}) };
}

/** The engine's own first complaint: stderr (stdout may hold partial output, e.g. the client version). */
function firstLine(e: RuntimeError): string {
  const stderr = e instanceof ExecError ? e.stderr : "";
  return stderr.split("\n").find((l) => l.trim() !== "") ?? e.message.split("\n")[0]!;
}
