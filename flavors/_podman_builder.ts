/**
 * Builds with podman, locally or through a podman service (`--remote`). The context is handed
 * over as a directory (see `_directory_context.ts` for why not stdin); `--iidfile` gives the
 * image ID; `push --digestfile` the manifest digest (remote: asked from the registry, since
 * `podman --remote push` has no --digestfile).
 */
import type { Static } from "@sinclair/typebox";
import { join } from "node:path";
import { BaseImageBuilder } from "../src/builder/base_image_builder.ts";
import type { BuildOptions } from "../src/builder/build_options.ts";
import type { ContainerRegistry } from "../src/builder/container_registry.ts";
import type { ProbeResult } from "../src/builder/flavor.ts";
import type { BuildContext } from "../src/context/build_context.ts";
import { exec, type ExecOptions } from "../src/exec.ts";
import type { RuntimeError } from "../src/errors.ts";
import { buildWithContainersTools, type ContainersBuildExtras, type ContainersEngine } from "./_containers_build.ts";
import { DirectoryBuildContext } from "./_directory_context.ts";
import type { PodmanConfig } from "./podman.ts";
import { commonBuildFlags, hasFlag, inspectImageId, singlePlatform } from "./_shared.ts";

type Config = Static<typeof PodmanConfig>;

const INSTALL_HINT = "Install podman (Debian/Ubuntu: apt-get install podman) or set the flavor's `binary`";

export function isRemote(config: Config): boolean {
  return config.url !== undefined || config.connection !== undefined;
}

/** The CLI and its global flags: where podman runs (remote) or where it stores images (local). */
export function podmanPrefix(config: Config): string[] {
  const argv = [config.binary];
  if (isRemote(config)) {
    argv.push("--remote");
    if (config.url) argv.push("--url", config.url);
    if (config.connection) argv.push("--connection", config.connection);
    return argv;
  }
  if (config.root) argv.push("--root", config.root);
  if (config.runroot) argv.push("--runroot", config.runroot);
  if (config.storage_driver) argv.push("--storage-driver", config.storage_driver);
  return argv;
}

/** `podman build` argv for a context directory. Pure: unit-tested without an engine. */
export function podmanBuildArgv(config: Config, contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras = {}): string[] {
  const argv = [...podmanPrefix(config), "build", "-f", join(contextDir, dockerfile), ...commonBuildFlags(options), ...singlePlatform("podman", options)];
  argv.push(`--layers=${config.layers}`);
  if (extras.format) argv.push("--format", extras.format);
  argv.push(...(extras.registryFlags ?? []));
  if (options.pull) argv.push("--pull=always");
  if (!hasFlag(options.extraFlags, "--iidfile")) argv.push("--iidfile", iidfile);
  for (const ref of references) argv.push("-t", ref);
  argv.push(...options.extraFlags, contextDir);
  return argv;
}

function podmanWhere(config: Config) {
  return { engine: isRemote(config) ? `the podman service at ${JSON.stringify(config.url ?? `connection ${config.connection}`)}` : "podman" };
}

export class PodmanImageBuilder extends BaseImageBuilder<Config> {
  override get buildContextClass(): typeof BuildContext {
    return DirectoryBuildContext;
  }

  private run(argv: string[], options: ExecOptions = {}) {
    const log = (line: string) => this.env.log(line);
    // killTree: on SIGTERM the engine exits but leaves the RUN step's process running under runc.
    return exec(argv, { signal: this.env.signal, killTree: true, onStdout: log, onStderr: log, installHint: INSTALL_HINT, ...options });
  }

  override localImageId(reference: string): Promise<string | undefined> {
    return inspectImageId([...podmanPrefix(this.config), "image", "inspect", "--format", "{{.Id}}", reference], this.env.signal);
  }

  override async tagImage(source: string, targets: readonly string[]): Promise<void> {
    if (targets.length > 0) await this.run([...podmanPrefix(this.config), "tag", source, ...targets]);
  }


  build(imageName: string, buildContext: BuildContext, options: BuildOptions, registry?: ContainerRegistry): Promise<string> {
    const engine: ContainersEngine = {
      name: "podman",
      // A subclass's config (builtinBuilder) may have no `format`: auto, like the schema's default.
      format: this.config.format ?? "auto",
      prefix: podmanPrefix(this.config),
      where: podmanWhere(this.config),
      digestFile: !isRemote(this.config),
      explicitDestination: false,
      run: (a, o) => this.run(a, o),
      signal: this.env.signal,
      report: (r) => this.env.report(r),
      buildArgv: (dir, dockerfile, references, o, iidfile, extras) => podmanBuildArgv(this.config, dir, dockerfile, references, o, iidfile, extras),
    };
    return buildWithContainersTools(engine, imageName, buildContext, options, registry);
  }
}

/** Cheap availability check: podman runs and can reach its storage or its service. */
export async function probePodman(config: Config): Promise<ProbeResult> {
  try {
    await exec([...podmanPrefix(config), "version", "--format", "{{.Client.Version}}"], { installHint: INSTALL_HINT });
    if (isRemote(config)) await exec([...podmanPrefix(config), "info", "--format", "{{.Host.Arch}}"]);
    return { available: true };
  } catch (e) {
    const err = e as RuntimeError;
    if (err.code === "exec.not-found") return { available: false, reason: err.message, hint: INSTALL_HINT };
    const what = isRemote(config) ? `The podman service at ${config.url ?? `connection '${config.connection}'`} is not reachable` : "podman does not work here";
    return { available: false, reason: `${what}: ${err.message.split("\n").slice(1, 3).join(" ").trim()}`, hint: isRemote(config) ? "start it with: podman system service --time=0 URL" : undefined };
  }
}
