/**
 * What the docker CLI is given: the environment of every call (daemon address, TLS, builder
 * choice, config directory), the `docker build` argv for a context on stdin, and the digest
 * `docker push` prints. Pure: unit-tested without an engine.
 */
import type { Static } from "@sinclair/typebox";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { DockerConfig } from "./flavor.ts";
import { commonBuildFlags, hasFlag, singlePlatform } from "../_engine/flags.ts";
import { dockerCacheFlags } from "../_engine/pipeline_options.ts";
import { refuseMounts } from "../_engine/build_mounts.ts";
import { sshPath } from "./ssh_shim.ts";

export type Config = Static<typeof DockerConfig>;

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
 * `docker build` argv for a context on stdin, for one platform at most (several platforms are
 * several builds: multi_platform.ts). `mounts` are the `--secret`/`--ssh` flags
 * (build_mounts.ts), which the classic builder refuses.
 */
export function dockerBuildArgv(config: Config, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, mounts: readonly string[] = []): string[] {
  if (config.builder === "classic") refuseMounts("docker flavor", options, CLASSIC_NO_MOUNTS, CLASSIC_MOUNTS_HINT);
  const argv = [config.binary, "build", "-f", dockerfile, ...commonBuildFlags(options), ...singlePlatform("docker", options), ...mounts];
  if (options.pull) argv.push("--pull");
  argv.push(...dockerCacheFlags(config.builder === "classic" ? "classic" : "buildkit", options));
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
