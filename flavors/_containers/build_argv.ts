/**
 * The `podman build` / `buildah bud` argv: the same flags in the same order, with each engine's
 * own additions at two fixed places. Pure: unit-tested without an engine.
 */
import { join } from "node:path";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import { commonBuildFlags, hasFlag, singlePlatform } from "../_engine/flags.ts";
import type { ContainersBuildExtras } from "./build.ts";
import { containersPipelineFlags } from "../_engine/pipeline_options.ts";
import { formatInFlags } from "./image_format.ts";

export interface BuildArgvShape {
  engine: "podman" | "buildah";
  prefix: readonly string[];
  subcommand: "build" | "bud";
  layers: boolean;
  /** Right after `--layers=…`. */
  afterLayers?: readonly string[];
  /** Right after the registry flags. */
  afterRegistryFlags?: readonly string[];
}

export function containersBuildArgv(shape: BuildArgvShape, contextDir: string, dockerfile: string, references: readonly string[], options: BuildOptions, iidfile: string, extras: ContainersBuildExtras = {}): string[] {
  const argv = [...shape.prefix, shape.subcommand, "-f", join(contextDir, dockerfile), ...commonBuildFlags(options), ...singlePlatform(shape.engine, options)];
  argv.push(`--layers=${shape.layers}`, ...(shape.afterLayers ?? []));
  if (extras.format) argv.push("--format", extras.format);
  argv.push(...containersPipelineFlags(shape.engine, shape.layers, extras.format ?? flagsFormat(options.extraFlags), options));
  argv.push(...(extras.registryFlags ?? []), ...(shape.afterRegistryFlags ?? []));
  argv.push(...(extras.mounts ?? []));
  argv.push(...namedContextFlags(options));
  if (options.pull) argv.push("--pull=always");
  if (!hasFlag(options.extraFlags, "--iidfile")) argv.push("--iidfile", iidfile);
  for (const ref of references) argv.push("-t", ref);
  argv.push(...options.extraFlags, contextDir);
  return argv;
}

/** `--build-context NAME=DIR` or `NAME=docker-image://REF` per named context (podman 4.3 and buildah take both). */
export function namedContextFlags(options: BuildOptions): string[] {
  return (options.contexts ?? []).flatMap((c) => ["--build-context", `${c.name}=${c.directory ?? `docker-image://${c.image}`}`]);
}

/** The format `--format` in extra flags picks (podman/buildah read `oci…` as OCI, anything else as Docker). */
function flagsFormat(flags: readonly string[]): "oci" | "docker" | undefined {
  const f = formatInFlags(flags);
  return f === undefined ? undefined : f.startsWith("oci") ? "oci" : "docker";
}
