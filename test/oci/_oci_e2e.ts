/**
 * Shared pieces of the `oci` flavor's end-to-end suites: a build through the flavor (as
 * run_build does it: flavor -> implementation -> build), the base image pushed to the test
 * registry, and docker commands against the test daemon.
 */
import { defaultBuildOptions, type BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { exec } from "../../src/exec.ts";
import oci from "../../flavors/oci/flavor.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, REGISTRY } from "../helpers/testenv.ts";
import { tempDir, writeTree } from "../helpers/tmp.ts";

/** The test base image, as the registry serves it. */
export const REGISTRY_BASE = `${REGISTRY}/imgb-test/busybox:latest`;

export const docker = (...args: string[]) => exec([DOCKER_CLI, "-H", DOCKER_HOST, ...args]);

let pushed: Promise<unknown> | undefined;
/** `docker tag` + `docker push` the base into 127.0.0.1:5000 once per run. */
export function pushBase(): Promise<unknown> {
  pushed ??= docker("tag", BASE_IMAGE, REGISTRY_BASE).then(() => docker("push", REGISTRY_BASE));
  return pushed;
}

/** A temp directory with these files; removed by `cleanupTempDirs()` (test/helpers/tmp.ts). */
export function fixture(files: Record<string, string | Uint8Array>): string {
  const root = tempDir("imgb-oci-e2e-");
  writeTree(root, files);
  return root;
}

export interface OciBuild {
  ref: string;
  logs: string[];
  report: { imageId?: string; digest?: string };
}

export async function ociBuild(
  root: string,
  imageName: string,
  config: Record<string, unknown> = {},
  registry: ContainerRegistry | undefined = { uri: REGISTRY, insecure: true },
  options: Partial<BuildOptions> = {},
  signal: AbortSignal = new AbortController().signal,
  onLog?: (line: string) => void,
): Promise<OciBuild> {
  const Builder = await oci.implementation();
  const logs: string[] = [];
  const report: OciBuild["report"] = {};
  const full = { output: "registry", platform: "linux/amd64", insecure_registries: [], compression_level: 1, ...config };
  const builder = new Builder(full as never, {
    log: (l) => {
      logs.push(l);
      onLog?.(l);
    },
    signal,
    report: (f) => Object.assign(report, f),
  });
  const ref = await builder.build(imageName, new BuildContext({ root }), defaultBuildOptions(options), registry);
  return { ref, logs, report };
}
