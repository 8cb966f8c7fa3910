/**
 * One `docker build` on one daemon: the context on stdin, at most one platform, tagged with the
 * given references; the image ID comes back. The single-platform build and each platform of a
 * multi-platform build (multi_platform.ts) run through here, so a platform can be sent to any
 * daemon a `DockerRunner` reaches (the later "builder nodes": one daemon per platform).
 *
 * The classic builder defines none of BuildKit's platform args: they are passed as build args
 * (platform_args.ts) so `ARG TARGETARCH` means the same with both builders. A RUN that cannot
 * execute a foreign platform's binary ("exec format error") is reported as what it is: which
 * platform, which emulator is missing and how to check binfmt_misc (src/emulation.ts).
 */
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ImageBuildContext } from "../../src/builder/build_context.ts";
import { BINFMT_DIR, emulationProblem, hostPlatform, isForeign, looksLikeExecFormatError, qemuHandler } from "../../src/emulation.ts";
import { ExecError, type ExecOptions, type ExecResult } from "../../src/exec.ts";
import { platformString, type Platform } from "../../src/platform.ts";
import { explainFailure, type FailureContext } from "../_engine/failure.ts";
import { readDigestFile } from "../_engine/files.ts";
import { hasFlag } from "../_engine/flags.ts";
import { dockerBuildArgv, dockerEnv, type Config } from "./build_argv.ts";
import { normalizePlatform, platformBuildArgs } from "./platform_args.ts";

/** What runs docker commands for a build: the builder's logging, redaction and cancellation. */
export interface DockerRunner {
  readonly config: Config;
  /** Where the daemon is, for failure messages. */
  readonly where: FailureContext;
  readonly signal: AbortSignal;
  log(line: string): void;
  run(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /** `docker image inspect --format F REF`, trimmed. */
  inspect(reference: string, format: string): Promise<string>;
  /** `os/arch[/variant]` of a local image. */
  imagePlatform(reference: string): Promise<string>;
  /** Remove local tags (an image no other tag names goes with its tag); failures are ignored. */
  untag(references: readonly string[]): Promise<void>;
}

export interface PlatformBuild {
  /** The stack's image name, for messages. */
  imageName: string;
  context: ImageBuildContext;
  /** Build options with at most one platform. */
  options: BuildOptions;
  /** Local references to tag the result with. */
  references: readonly string[];
  /** Where `--iidfile` writes (a private temporary directory). */
  iidfile: string;
  /** `--secret`/`--ssh` flags (build_mounts.ts). */
  mounts: readonly string[];
  /** The daemon's own platform; with the classic builder the platform args are derived from it. */
  daemon?: Platform;
  /** Prefix each log line (`[linux/arm64] `) when platforms build side by side. */
  logPrefix?: string;
  /** Environment of the build (default: dockerEnv(config), the user's own docker config). */
  env?: Record<string, string | undefined>;
  /** Stops this build (default: the runner's signal), e.g. when a sibling platform failed. */
  signal?: AbortSignal;
}

/** Runs the build; returns the image ID (`sha256:…`). */
export async function buildPlatform(runner: DockerRunner, job: PlatformBuild): Promise<string> {
  const { config } = runner;
  const requested = job.options.platforms[0];
  const platform = requested !== undefined ? normalizePlatform(requested) : undefined;
  let options = job.options;
  if (config.builder === "classic" && job.daemon) {
    options = { ...options, buildArgs: { ...platformBuildArgs(platform ?? job.daemon, job.daemon, options.buildArgs), ...options.buildArgs } };
  }
  const argv = dockerBuildArgv(config, job.context.dockerfile, job.references, options, job.iidfile, job.mounts);
  const signal = job.signal ?? runner.signal;
  const stdin = job.context.stream({ signal });
  const log = job.logPrefix ? (line: string) => runner.log(`${job.logPrefix}${line}`) : (line: string) => runner.log(line);
  const subject = `image '${job.imageName}'${platform && job.logPrefix ? ` for ${platformString(platform)}` : ""}`;
  try {
    await runner.run(argv, { stdin, env: job.env ?? dockerEnv(config), onStdout: log, onStderr: log, signal });
  } catch (e) {
    throw explainPlatformFailure(e, subject, { ...runner.where, dockerfile: job.context.dockerfile }, platform, job.daemon);
  } finally {
    // exec feeds the stream and reports its failure (a context file that changed) ahead of
    // docker's exit status; this only releases a stream exec never started reading.
    await stdin.cancel().catch(() => {});
  }
  if (hasFlag(options.extraFlags, "--iidfile")) return runner.inspect(job.references[0]!, "{{.Id}}");
  return readDigestFile(job.iidfile, "image ID");
}

/**
 * A build failure explained; a foreign platform's "exec format error" names the platform, the
 * emulator (qemu-user-static) and where binfmt_misc says whether it is enabled.
 */
export function explainPlatformFailure(e: unknown, subject: string, where: FailureContext, platform: Platform | undefined, daemon: Platform | undefined, binfmtDir: string = BINFMT_DIR): unknown {
  const host = daemon ?? hostPlatform();
  if (platform && e instanceof ExecError && e.code === "exec.failed" && looksLikeExecFormatError(e.tail.join("\n")) && isForeign(platform, host)) {
    const handler = qemuHandler(platform.architecture);
    const problem =
      emulationProblem(platform, host, binfmtDir) ??
      `RUN steps for ${platformString(platform)} could not execute (exec format error) although ${binfmtDir}/${handler} is enabled on this machine: the daemon runs elsewhere or without it; install qemu-user-static (apt-get install qemu-user-static binfmt-support) where the daemon runs and check that ${binfmtDir}/${handler} says "enabled" there`;
    return e.reframe("build.emulation", `Build of ${subject} failed: ${problem}: ${e.command}`, `check the emulator with: cat ${binfmtDir}/${handler}`);
  }
  return explainFailure(e, "build", subject, where);
}
