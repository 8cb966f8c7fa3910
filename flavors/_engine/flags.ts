/** The build flags docker, podman and buildah spell the same way, and checks on the user's extra flags. */
import type { BuildOptions } from "../../src/builder/build_options.ts";
import { InputError } from "../../src/errors.ts";

/** Flags docker, podman and buildah spell the same way, in a stable order. */
export function commonBuildFlags(options: BuildOptions): string[] {
  const flags: string[] = [];
  for (const key of Object.keys(options.buildArgs).sort()) flags.push("--build-arg", `${key}=${options.buildArgs[key]}`);
  for (const key of Object.keys(options.labels).sort()) flags.push("--label", `${key}=${options.labels[key]}`);
  if (options.target) flags.push("--target", options.target);
  if (options.noCache) flags.push("--no-cache");
  if (options.network && options.network !== "default") flags.push(`--network=${options.network}`);
  return flags;
}

/** One platform at most: these builders make one image per build, not a manifest list. */
export function singlePlatform(engine: string, options: BuildOptions): string[] {
  if (options.platforms.length > 1) {
    throw new InputError(
      "build.platforms-unsupported",
      `The ${engine} flavor cannot build several platforms into one image: got ${options.platforms.map((p) => `'${p}'`).join(", ")}`,
      { hint: "build one platform per image, or use a builder that makes manifest lists (e.g. docker buildx)" },
    );
  }
  return options.platforms.length === 1 ? ["--platform", options.platforms[0]!] : [];
}

/** Does `flags` (extra flags) already set `--name` (as `--name` or `--name=…`)? */
export function hasFlag(flags: readonly string[], name: string): boolean {
  return flags.some((f) => f === name || f.startsWith(`${name}=`));
}
