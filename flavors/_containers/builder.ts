/**
 * The base of the containers-tools family (podman, buildah): both speak `containers/image` and
 * `containers/storage`, take the context as a directory, write `--iidfile`, log in with
 * `--authfile`, push with `--digestfile`. This class owns that flow (see `build.ts`); a subclass
 * supplies only what differs: its CLI prefix (global flags), its build argv, where it runs, how
 * the manifest digest of a push is learnt, and how it names an image for inspection or untags it.
 */
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import type { ProbeResult } from "../../src/builder/flavor.ts";
import { BaseImageBuilder } from "../../src/builder/base_image_builder.ts";
import type { BuildContext } from "../../src/context/build_context.ts";
import type { RuntimeError } from "../../src/errors.ts";
import { exec, type ExecOptions } from "../../src/exec.ts";
import type { FailureContext } from "../_engine/failure.ts";
import { inspectImageId } from "../_engine/files.ts";
import { buildWithContainersTools, type ContainersBuildExtras, type ContainersEngine } from "./build.ts";
import { DirectoryBuildContext } from "./directory_context.ts";
import type { FormatSetting } from "./image_format.ts";
import { hostPlatform } from "../../src/emulation.ts";
import { parsePlatform, type Platform } from "../../src/platform.ts";
import { normalizePlatform } from "../_engine/platforms.ts";

/** The config keys the family shares (each flavor's schema has more). */
export interface ContainersToolsConfig {
  binary: string;
  layers: boolean;
  format?: FormatSetting;
  root?: string;
  runroot?: string;
  storage_driver?: string;
}

/** `[binary, --root, --runroot, --storage-driver]`: where a local engine keeps its images. */
export function storagePrefix(config: ContainersToolsConfig): string[] {
  const argv = [config.binary];
  if (config.root) argv.push("--root", config.root);
  if (config.runroot) argv.push("--runroot", config.runroot);
  if (config.storage_driver) argv.push("--storage-driver", config.storage_driver);
  return argv;
}

/** A failed probe command as a ProbeResult: a missing CLI with the install hint, else what broke. */
export function probeFailure(e: unknown, installHint: string, what: string, hint?: string): ProbeResult {
  const err = e as RuntimeError;
  if (err.code === "exec.not-found") return { available: false, reason: err.message, hint: installHint };
  return { available: false, reason: `${what}: ${err.message.split("\n").slice(1, 3).join(" ").trim()}`, hint };
}

export abstract class ContainersToolsBuilder<Config extends ContainersToolsConfig> extends BaseImageBuilder<Config> {
  protected abstract readonly engineName: "podman" | "buildah";
  protected abstract readonly installHint: string;
  /** The CLI and its global flags, e.g. `["podman", "--remote", "--url", "unix://…"]`. */
  protected abstract prefix(): string[];
  /** The `build`/`bud` argv for a context directory. */
  protected abstract buildArgv(contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras): string[];
  /** The inspect argv that prints the image ID of `reference`. */
  protected abstract imageIdArgv(reference: string): string[];
  /** The argv that takes the name `name` off its image, keeping the image (multi-platform builds free the list's name with it). */
  protected abstract untagArgv(name: string): string[];
  /** Whether the engine runs on this machine (not a podman service): its emulators are this machine's. */
  protected abstract readonly runsHere: boolean;
  /** Where the engine runs, for error messages. */
  protected abstract where(): FailureContext;
  /** Whether `push --digestfile` works (not with `podman --remote`). */
  protected abstract readonly digestFile: boolean;
  /** `buildah push` wants an explicit `docker://` destination; podman takes the name alone. */
  protected abstract readonly explicitDestination: boolean;

  override get buildContextClass(): typeof BuildContext {
    return DirectoryBuildContext;
  }

  protected run(argv: string[], options: ExecOptions = {}) {
    const log = (line: string) => this.env.log(line);
    // killTree: on SIGTERM the engine exits but leaves the RUN step's process running under runc.
    return exec(argv, { signal: this.env.signal, killTree: true, onStdout: log, onStderr: log, installHint: this.installHint, ...options });
  }

  override localImageId(reference: string): Promise<string | undefined> {
    return inspectImageId(this.imageIdArgv(reference), this.env.signal);
  }

  override async tagImage(source: string, targets: readonly string[]): Promise<void> {
    if (targets.length > 0) await this.run([...this.prefix(), "tag", source, ...targets]);
  }

  private serverPlatform?: Promise<Platform | undefined>;

  /** The platform builds run on (`$BUILDPLATFORM`): this machine's, or a podman service's own (asked once). */
  protected buildPlatform(): Promise<Platform | undefined> {
    if (this.runsHere) return Promise.resolve(hostPlatform());
    this.serverPlatform ??= exec([...this.prefix(), "info", "--format", "{{.Host.OS}}/{{.Host.Arch}}"], { signal: this.env.signal }).then(
      (r) => (/^[a-z0-9]+\/[a-z0-9]+$/.test(r.stdout.trim()) ? parsePlatform(normalizePlatform(r.stdout.trim())) : undefined),
      () => undefined,
    );
    return this.serverPlatform;
  }

  build(imageName: string, buildContext: BuildContext, options: BuildOptions, registry?: ContainerRegistry): Promise<string> {
    const engine: ContainersEngine = {
      buildPlatform: () => this.buildPlatform(),
      name: this.engineName,
      // A subclass's config (builtinBuilder) may have no `format`: auto, like the schema's default.
      format: this.config.format ?? "auto",
      prefix: this.prefix(),
      where: this.where(),
      localImageId: (reference) => this.localImageId(reference),
      untagArgv: (name) => this.untagArgv(name),
      runsHere: this.runsHere,
      log: (line) => this.env.log(line),
      digestFile: this.digestFile,
      explicitDestination: this.explicitDestination,
      run: (a, o) => this.run(a, o),
      signal: this.env.signal,
      report: (r) => this.env.report(r),
      buildArgv: (dir, dockerfile, references, o, iidfile, extras) => this.buildArgv(dir, dockerfile, references, o, iidfile, extras),
    };
    return buildWithContainersTools(engine, imageName, buildContext, options, registry);
  }
}
