/**
 * Builds with podman, locally or through a podman service (`--remote`). The flow is the
 * containers-tools family's (`../_containers/builder.ts`: a context directory, `--iidfile`,
 * `push --digestfile`); podman adds `--remote`, and since `podman --remote push` has no
 * --digestfile, a remote push's digest is asked from the registry.
 */
import type { Static } from "@sinclair/typebox";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ProbeResult } from "../../src/builder/flavor.ts";
import { exec } from "../../src/exec.ts";
import type { ContainersBuildExtras } from "../_containers/build.ts";
import { containersBuildArgv } from "../_containers/build_argv.ts";
import { ContainersToolsBuilder, probeFailure, storagePrefix } from "../_containers/builder.ts";
import type { PodmanConfig } from "./flavor.ts";
import { refuseRemoteSsh } from "./remote_ssh.ts";

type Config = Static<typeof PodmanConfig>;

const INSTALL_HINT = "Install podman (Debian/Ubuntu: apt-get install podman) or set the flavor's `binary`";

export function isRemote(config: Config): boolean {
  return config.url !== undefined || config.connection !== undefined;
}

/** The CLI and its global flags: where podman runs (remote) or where it stores images (local). */
export function podmanPrefix(config: Config): string[] {
  if (!isRemote(config)) return storagePrefix(config);
  const argv = [config.binary, "--remote"];
  if (config.url) argv.push("--url", config.url);
  if (config.connection) argv.push("--connection", config.connection);
  return argv;
}

/** `podman build` argv for a context directory. Pure: unit-tested without an engine. */
export function podmanBuildArgv(config: Config, contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras = {}): string[] {
  refuseRemoteSsh(config, options);
  const shape = { engine: "podman", prefix: podmanPrefix(config), subcommand: "build", layers: config.layers } as const;
  return containersBuildArgv(shape, contextDir, dockerfile, references, options, iidfile, extras);
}

export class PodmanImageBuilder extends ContainersToolsBuilder<Config> {
  protected readonly engineName = "podman";
  protected readonly installHint = INSTALL_HINT;

  protected get digestFile(): boolean {
    return !isRemote(this.config);
  }

  protected readonly explicitDestination = false;

  protected prefix(): string[] {
    return podmanPrefix(this.config);
  }

  protected buildArgv(contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras): string[] {
    return podmanBuildArgv(this.config, contextDir, dockerfile, references, options, iidfile, extras);
  }

  protected imageIdArgv(reference: string): string[] {
    return [...this.prefix(), "image", "inspect", "--format", "{{.Id}}", reference];
  }

  protected untagArgv(name: string): string[] {
    return [...this.prefix(), "untag", name, name];
  }

  protected get runsHere(): boolean {
    return !isRemote(this.config);
  }

  protected where() {
    return { engine: isRemote(this.config) ? `the podman service at ${JSON.stringify(this.config.url ?? `connection ${this.config.connection}`)}` : "podman" };
  }
}

/** Cheap availability check: podman runs and can reach its storage or its service. */
export async function probePodman(config: Config): Promise<ProbeResult> {
  try {
    const local = (await exec([...podmanPrefix(config), "version", "--format", "{{.Client.Version}} {{.Client.OsArch}}"], { installHint: INSTALL_HINT })).stdout.trim();
    // A service answers for its own machine: its version and platform, not the client's.
    const answer = isRemote(config) ? (await exec([...podmanPrefix(config), "info", "--format", "{{.Version.Version}} {{.Host.OS}}/{{.Host.Arch}}"])).stdout.trim() : local;
    const [version, platform] = answer.split(" ");
    return { available: true, ...(version ? { version: `podman ${version}` } : {}), ...(platform && /^[a-z0-9]+\/[a-z0-9]+/.test(platform) ? { platforms: [platform] } : {}) };
  } catch (e) {
    const what = isRemote(config) ? `The podman service at ${config.url ?? `connection '${config.connection}'`} is not reachable` : "podman does not work here";
    return probeFailure(e, INSTALL_HINT, what, isRemote(config) ? "start it with: podman system service --time=0 URL" : undefined);
  }
}
