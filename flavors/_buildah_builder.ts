/**
 * Builds with `buildah bud` (daemonless). Same context handling as podman (a directory, see
 * `_directory_context.ts`), `--iidfile` for the image ID, `buildah push --digestfile` for the
 * manifest digest.
 */
import type { Static } from "@sinclair/typebox";
import { join } from "node:path";
import { BaseImageBuilder } from "../src/builder/base_image_builder.ts";
import type { BuildOptions } from "../src/builder/build_options.ts";
import type { ContainerRegistry } from "../src/builder/container_registry.ts";
import type { ProbeResult } from "../src/builder/flavor.ts";
import type { BuildContext } from "../src/context/build_context.ts";
import type { RuntimeError } from "../src/errors.ts";
import { exec, type ExecOptions } from "../src/exec.ts";
import type { BuildahConfig } from "./buildah.ts";
import { buildWithContainersTools, type ContainersBuildExtras, type ContainersEngine } from "./_containers_build.ts";
import { DirectoryBuildContext } from "./_directory_context.ts";
import { commonBuildFlags, hasFlag, inspectImageId, singlePlatform } from "./_shared.ts";

type Config = Static<typeof BuildahConfig>;

const INSTALL_HINT = "Install buildah (Debian/Ubuntu: apt-get install buildah) or set the flavor's `binary`";

/** The CLI and its storage flags. */
export function buildahPrefix(config: Config): string[] {
  const argv = [config.binary];
  if (config.root) argv.push("--root", config.root);
  if (config.runroot) argv.push("--runroot", config.runroot);
  if (config.storage_driver) argv.push("--storage-driver", config.storage_driver);
  return argv;
}

/** `buildah bud` argv for a context directory. Pure: unit-tested without an engine. */
export function buildahBuildArgv(config: Config, contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras = {}): string[] {
  const argv = [...buildahPrefix(config), "bud", "-f", join(contextDir, dockerfile), ...commonBuildFlags(options), ...singlePlatform("buildah", options)];
  // --force-rm: buildah (unlike podman) keeps the working container of a failed build otherwise.
  argv.push(`--layers=${config.layers}`, "--force-rm");
  if (extras.format) argv.push("--format", extras.format);
  argv.push(...(extras.registryFlags ?? []));
  if (config.isolation) argv.push("--isolation", config.isolation);
  if (options.pull) argv.push("--pull=always");
  if (!hasFlag(options.extraFlags, "--iidfile")) argv.push("--iidfile", iidfile);
  for (const ref of references) argv.push("-t", ref);
  argv.push(...options.extraFlags, contextDir);
  return argv;
}

export class BuildahImageBuilder extends BaseImageBuilder<Config> {
  override get buildContextClass(): typeof BuildContext {
    return DirectoryBuildContext;
  }

  private run(argv: string[], options: ExecOptions = {}) {
    const log = (line: string) => this.env.log(line);
    // killTree: on SIGTERM the engine exits but leaves the RUN step's process running under runc.
    return exec(argv, { signal: this.env.signal, killTree: true, onStdout: log, onStderr: log, installHint: INSTALL_HINT, ...options });
  }

  override localImageId(reference: string): Promise<string | undefined> {
    return inspectImageId([...buildahPrefix(this.config), "inspect", "--type", "image", "--format", "{{.FromImageID}}", reference], this.env.signal);
  }

  override async tagImage(source: string, targets: readonly string[]): Promise<void> {
    if (targets.length > 0) await this.run([...buildahPrefix(this.config), "tag", source, ...targets]);
  }


  build(imageName: string, buildContext: BuildContext, options: BuildOptions, registry?: ContainerRegistry): Promise<string> {
    const engine: ContainersEngine = {
      name: "buildah",
      // A subclass's config (builtinBuilder) may have no `format`: auto, like the schema's default.
      format: this.config.format ?? "auto",
      prefix: buildahPrefix(this.config),
      where: { engine: "buildah" },
      digestFile: true,
      explicitDestination: true,
      run: (a, o) => this.run(a, o),
      signal: this.env.signal,
      report: (r) => this.env.report(r),
      buildArgv: (dir, dockerfile, references, o, iidfile, extras) => buildahBuildArgv(this.config, dir, dockerfile, references, o, iidfile, extras),
    };
    return buildWithContainersTools(engine, imageName, buildContext, options, registry);
  }
}

/** Cheap availability check: buildah runs and can open its storage. */
export async function probeBuildah(config: Config): Promise<ProbeResult> {
  try {
    await exec([...buildahPrefix(config), "info", "--format", "{{.store.GraphDriverName}}"], { installHint: INSTALL_HINT });
    return { available: true };
  } catch (e) {
    const err = e as RuntimeError;
    if (err.code === "exec.not-found") return { available: false, reason: err.message, hint: INSTALL_HINT };
    return { available: false, reason: `buildah does not work here: ${err.message.split("\n").slice(1, 3).join(" ").trim()}` };
  }
}
