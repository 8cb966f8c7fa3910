/**
 * Builds with `buildah bud` (daemonless). The flow is the containers-tools family's
 * (`../_containers/builder.ts`: a context directory, `--iidfile`, `buildah push --digestfile`);
 * buildah adds `--force-rm`, `--isolation` and an explicit `docker://` push destination.
 */
import type { Static } from "@sinclair/typebox";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ProbeResult } from "../../src/builder/flavor.ts";
import { exec } from "../../src/exec.ts";
import type { ContainersBuildExtras } from "../_containers/build.ts";
import { containersBuildArgv } from "../_containers/build_argv.ts";
import { ContainersToolsBuilder, probeFailure, storagePrefix } from "../_containers/builder.ts";
import type { BuildahConfig } from "./flavor.ts";

type Config = Static<typeof BuildahConfig>;

const INSTALL_HINT = "Install buildah (Debian/Ubuntu: apt-get install buildah) or set the flavor's `binary`";

/** The CLI and its storage flags. */
export function buildahPrefix(config: Config): string[] {
  return storagePrefix(config);
}

/** `buildah bud` argv for a context directory. Pure: unit-tested without an engine. */
export function buildahBuildArgv(config: Config, contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras = {}): string[] {
  const shape = {
    engine: "buildah",
    prefix: buildahPrefix(config),
    subcommand: "bud",
    layers: config.layers,
    // --force-rm: buildah (unlike podman) keeps the working container of a failed build otherwise.
    afterLayers: ["--force-rm"],
    afterRegistryFlags: config.isolation ? ["--isolation", config.isolation] : [],
  } as const;
  return containersBuildArgv(shape, contextDir, dockerfile, references, options, iidfile, extras);
}

export class BuildahImageBuilder extends ContainersToolsBuilder<Config> {
  protected readonly engineName = "buildah";
  protected readonly installHint = INSTALL_HINT;
  protected readonly digestFile = true;
  protected readonly explicitDestination = true;

  protected prefix(): string[] {
    return buildahPrefix(this.config);
  }

  protected buildArgv(contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras): string[] {
    return buildahBuildArgv(this.config, contextDir, dockerfile, references, options, iidfile, extras);
  }

  protected imageIdArgv(reference: string): string[] {
    return [...this.prefix(), "inspect", "--type", "image", "--format", "{{.FromImageID}}", reference];
  }

  /**
   * buildah has no `untag`: `rmi NAME` removes only the name when the image has others, else the
   * image itself (the earlier build of this name, which a rebuild would have left untagged).
   */
  protected untagArgv(name: string): string[] {
    return [...this.prefix(), "rmi", name];
  }

  protected readonly runsHere = true;

  protected where() {
    return { engine: "buildah" };
  }
}

/** Cheap availability check: buildah runs and can open its storage. */
export async function probeBuildah(config: Config): Promise<ProbeResult> {
  try {
    await exec([...buildahPrefix(config), "info", "--format", "{{.store.GraphDriverName}}"], { installHint: INSTALL_HINT });
    return { available: true };
  } catch (e) {
    return probeFailure(e, INSTALL_HINT, "buildah does not work here");
  }
}
