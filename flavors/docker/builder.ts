/**
 * Builds with a Docker daemon through the docker CLI: the context goes in as a tar on stdin
 * (`docker build -f PATH -`), `--iidfile` gives the image ID, `docker push` prints the manifest
 * digest. Registry logins happen in a private DOCKER_CONFIG unless `config_dir` is set.
 */
import type { Static } from "@sinclair/typebox";
import { join } from "node:path";
import { BaseImageBuilder } from "../../src/builder/base_image_builder.ts";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { registryHost } from "../../src/image/name.ts";
import type { ProbeResult } from "../../src/builder/flavor.ts";
import type { BuildContext } from "../../src/context/build_context.ts";
import { RuntimeError } from "../../src/errors.ts";
import { exec, ExecError, type ExecOptions } from "../../src/exec.ts";
import type { DockerConfig } from "./flavor.ts";
import { contextDockerfileFacts } from "../_engine/dockerfile_facts.ts";
import { explainFailure } from "../_engine/failure.ts";
import { readDigestFile, withTempDir } from "../_engine/files.ts";
import { commonBuildFlags, hasFlag, singlePlatform } from "../_engine/flags.ts";
import { imageReferences } from "../_engine/references.ts";
import { dockerCacheFlags } from "../_engine/pipeline_options.ts";
import { buildMountFlags, refuseMounts } from "../_engine/build_mounts.ts";
import { sshPath } from "./ssh_shim.ts";

type Config = Static<typeof DockerConfig>;

const INSTALL_HINT = "Install the docker CLI (Debian/Ubuntu: apt-get install docker.io) or set the flavor's `binary`";

/** Environment for every docker call: the daemon address, TLS, builder choice. */
export function dockerEnv(config: Config, configDir?: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { DOCKER_BUILDKIT: config.builder === "classic" ? "0" : "1" };
  if (config.host) env.DOCKER_HOST = config.host;
  if (config.tls_verify !== undefined) env.DOCKER_TLS_VERIFY = config.tls_verify ? "1" : undefined;
  if (config.cert_path) env.DOCKER_CERT_PATH = config.cert_path;
  const dir = configDir ?? config.config_dir;
  if (dir) env.DOCKER_CONFIG = dir;
  const path = config.host?.startsWith("ssh://") ? sshPath(config) : undefined;
  if (path) env.PATH = path;
  return env;
}

export const CLASSIC_NO_MOUNTS = "the classic builder (builder: classic) has no RUN --mount";
export const CLASSIC_MOUNTS_HINT = "use builder: buildkit (the default), or the podman or buildah flavor";

/**
 * `docker build` argv for a context on stdin. Pure: unit-tested without an engine. `mounts` are
 * the `--secret`/`--ssh` flags (build_mounts.ts), which the classic builder refuses.
 */
export function dockerBuildArgv(config: Config, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, mounts: readonly string[] = []): string[] {
  if (config.builder === "classic") refuseMounts("docker flavor", options, CLASSIC_NO_MOUNTS, CLASSIC_MOUNTS_HINT);
  const argv = [config.binary, "build", "-f", dockerfile, ...commonBuildFlags(options), ...singlePlatform("docker", options), ...mounts];
  if (options.pull) argv.push("--pull");
  argv.push(...dockerCacheFlags(config.builder, options));
  // Plain progress: one line per event, which is what `env.log` streams (the tty UI is unreadable in a log).
  if (config.builder !== "classic" && !hasFlag(options.extraFlags, "--progress")) argv.push("--progress=plain");
  if (!hasFlag(options.extraFlags, "--iidfile")) argv.push("--iidfile", iidfile);
  for (const ref of references) argv.push("-t", ref);
  argv.push(...options.extraFlags, "-");
  return argv;
}

/** The manifest digest `docker push` prints: `<tag>: digest: sha256:… size: N`. */
export function parsePushDigest(output: string): string | undefined {
  return output.match(/digest: (sha256:[0-9a-f]{64}) size: \d+/)?.[1];
}

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
    return withTempDir("docker", async (tmp) => {
      // With credentials: log in to a private DOCKER_CONFIG (removed with `tmp`) unless config_dir
      // is set, before the build, so that bases from the stack's registry are pulled with it. The
      // build itself keeps the user's config (their other logins, their CLI plugins). Without
      // credentials: push with the user's own config, where an earlier `docker login` lives.
      const env = dockerEnv(this.config, registry?.credentials ? (this.config.config_dir ?? join(tmp, "config")) : undefined);
      if (registry?.credentials) {
        await this.login(registry, env);
        await this.pullStackBases(imageName, buildContext, options, registry, env);
      }
      if (this.config.builder === "classic") await this.noteMissingCacheSources(options);
      const iidfile = join(tmp, "iid");
      if (this.config.builder === "classic") refuseMounts("docker flavor", options, CLASSIC_NO_MOUNTS, CLASSIC_MOUNTS_HINT);
      // Secret values are redacted from here on; an env secret becomes a 0600 file in `tmp`.
      const mounts = await buildMountFlags(options, tmp);
      this.secrets.push(...mounts.redact);
      const argv = dockerBuildArgv(this.config, buildContext.dockerfile, refs.all, options, iidfile, mounts.flags);
      const stdin = buildContext.stream({ signal: this.env.signal });
      try {
        await this.run(argv, { stdin, env: dockerEnv(this.config) });
      } catch (e) {
        throw explainFailure(e, "build", `image '${imageName}'`, { ...this.where, dockerfile: buildContext.dockerfile });
      } finally {
        // exec feeds the stream and reports its failure (a context file that changed) ahead of
        // docker's exit status; this only releases a stream exec never started reading.
        await stdin.cancel().catch(() => {});
      }
      const imageId = hasFlag(options.extraFlags, "--iidfile") ? await this.inspectId(refs.primary) : await readDigestFile(iidfile, "image ID");
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
    const socket = unixSocket(this.config.host ?? process.env.DOCKER_HOST);
    if (socket) {
      try {
        const res = await fetch(`http://docker/images/${encodeURIComponent(reference)}/json`, { unix: socket, signal: this.env.signal } as RequestInit);
        if (res.status === 404) return undefined;
        if (res.ok) return ((await res.json()) as { Id?: string }).Id || undefined;
      } catch {
        // fall back to the CLI, which knows about contexts and odd setups
      }
    }
    try {
      return (await this.inspectId(reference)) || undefined;
    } catch {
      return undefined;
    }
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

/** The daemon's unix socket path when the host is one (the default host is /var/run/docker.sock). */
export function unixSocket(host: string | undefined): string | undefined {
  if (host === undefined || host === "") return "/var/run/docker.sock";
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
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
  // Since docker 23 the CLI's BuildKit path is the buildx plugin; older CLIs have it built in.
  if (config.builder !== "classic" && clientMajor >= 23) {
    try {
      await exec([config.binary, "buildx", "version"], { env: dockerEnv(config) });
    } catch {
      return {
        available: false,
        reason: `BuildKit needs the buildx plugin with docker CLI ${versions.split(" ")[0]}, and it is missing`,
        hint: "point the flavor's `binary:` at a docker CLI that has BuildKit (one with buildx, or < 23 such as /usr/bin/docker), install docker-buildx (apt-get install docker-buildx), or set `builder: classic`",
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
