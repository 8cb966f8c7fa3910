/**
 * The `podman build` / `buildah bud` argv: the same flags in the same order, with each engine's
 * own additions at two fixed places. A multi-platform build runs this once per platform, with
 * that platform and no tags (the manifest list is made over the images afterwards, see
 * multi_platform.ts). Pure: unit-tested without an engine.
 */
import { isAbsolute, join } from "node:path";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import { commonBuildFlags, hasFlag } from "../_engine/flags.ts";
import { normalizePlatform } from "../_engine/platforms.ts";
import type { ContainersBuildExtras } from "./build.ts";
import { containersPipelineFlags } from "../_engine/pipeline_options.ts";
import { builtFormat, formatInFlags } from "./image_format.ts";
import { InputError } from "../../src/errors.ts";

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
  // A relative Dockerfile is the context's; an absolute one a copy imgb wrote (pin_bases.ts).
  const argv = [...shape.prefix, shape.subcommand, "-f", isAbsolute(dockerfile) ? dockerfile : join(contextDir, dockerfile), ...commonBuildFlags(options), ...platformFlags(shape.engine, options, extras)];
  argv.push(`--layers=${shape.layers}`, ...(shape.afterLayers ?? []));
  if (extras.format) argv.push("--format", extras.format);
  argv.push(...containersPipelineFlags(shape.engine, shape.layers, builtFormatOrFlags(extras.format, options.extraFlags), options));
  argv.push(...(extras.registryFlags ?? []), ...(shape.afterRegistryFlags ?? []));
  argv.push(...(extras.mounts ?? []));
  argv.push(...namedContextFlags(options));
  if (options.pull) argv.push("--pull=always");
  if (!hasFlag(options.extraFlags, "--iidfile")) argv.push("--iidfile", iidfile);
  for (const ref of references) argv.push("-t", ref);
  argv.push(...options.extraFlags, contextDir);
  return argv;
}

/** `--format` in extra flags, if any, as the format it picks (undefined: the engine's default). */
function builtFormatOrFlags(format: "oci" | "docker" | undefined, flags: readonly string[]): "oci" | "docker" | undefined {
  return format ?? (formatInFlags(flags) === undefined ? undefined : builtFormat(undefined, flags));
}

/**
 * `--platform P`, normalized as BuildKit writes it (../_engine/platforms.ts): the one of
 * `extras.platform` (a multi-platform build's current platform), else of a single-platform
 * build. Several platforms without `extras.platform` is a caller's mistake.
 */
function platformFlags(engine: string, options: BuildOptions, extras: ContainersBuildExtras): string[] {
  if (extras.platform) return ["--platform", normalizePlatform(extras.platform)];
  if (options.platforms.length > 1) {
    throw new InputError("build.platforms-unsupported", `One ${engine} build makes one platform's image: got ${options.platforms.map((p) => `'${p}'`).join(", ")} without the platform to build`);
  }
  return options.platforms.length === 1 ? ["--platform", normalizePlatform(options.platforms[0]!)] : [];
}

/** `--build-context NAME=DIR` or `NAME=docker-image://REF` per named context (podman 4.3 and buildah take both). */
export function namedContextFlags(options: BuildOptions): string[] {
  return (options.contexts ?? []).flatMap((c) => ["--build-context", `${c.name}=${c.directory ?? `docker-image://${c.image}`}`]);
}
