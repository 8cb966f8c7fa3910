/**
 * The image format podman and buildah build in. Both default to OCI, whose image config has no
 * HEALTHCHECK, SHELL or ONBUILD: the engine drops them with a warning in the log and exits 0.
 * imgb never lets that happen silently: `auto` (the default) builds in Docker format exactly when
 * the target image uses one of them, and an explicit `oci` with one of them is an input error
 * that names the Dockerfile line.
 */
import type { StaticImage } from "../../src/builder/flavor.ts";
import { InputError } from "../../src/errors.ts";
import { dockerfileFacts, type DockerOnlyUse } from "../_engine/dockerfile_facts.ts";

export type FormatSetting = "auto" | "oci" | "docker";

/** `--format X` / `--format=X` in extra flags, if any. */
export function formatInFlags(flags: readonly string[]): string | undefined {
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i]!;
    if (f === "--format") return flags[i + 1] ?? "";
    if (f.startsWith("--format=")) return f.slice("--format=".length);
  }
  return undefined;
}

/**
 * The format the engine builds in: `chosen` (from `chooseFormat`), else what `--format` in the
 * extra flags picks (podman/buildah read `oci…` as OCI, anything else as Docker), else OCI.
 */
export function builtFormat(chosen: "oci" | "docker" | undefined, extraFlags: readonly string[]): "oci" | "docker" {
  if (chosen) return chosen;
  const f = formatInFlags(extraFlags);
  return f === undefined || f.startsWith("oci") ? "oci" : "docker";
}

/**
 * The `--format` value to add, or undefined when the extra flags already choose one. Throws an
 * InputError when the chosen format is OCI and the image uses a Docker-only instruction.
 * `dockerfilePath` is how the message names the Dockerfile.
 */
export function chooseFormat(engine: string, setting: FormatSetting, extraFlags: readonly string[], dockerOnly: readonly DockerOnlyUse[], dockerfilePath: string): "oci" | "docker" | undefined {
  const fromFlags = formatInFlags(extraFlags);
  const format = fromFlags ?? (setting === "auto" ? (dockerOnly.length > 0 ? "docker" : "oci") : setting);
  const first = dockerOnly[0];
  if (first && format.startsWith("oci")) {
    const keywords = [...new Set(dockerOnly.map((u) => u.keyword))].join(", ");
    const chosen = fromFlags === undefined ? `the ${engine} flavor's \`format\` is 'oci'` : `extra_flags set --format ${fromFlags}`;
    throw new InputError("build.docker-only-instruction", `${first.keyword} needs the Docker image format, but ${chosen}: an OCI image has no place for ${keywords} (the engine would drop it silently)`, {
      location: { file: dockerfilePath, line: first.line, col: 1 },
      hint: fromFlags === undefined ? "set `format: docker` (or `auto`, the default) in the flavor's config, or remove the instruction" : "remove --format from extra_flags (the flavor picks docker format when needed), or remove the instruction",
    });
  }
  return fromFlags === undefined ? (format as "oci" | "docker") : undefined;
}

/**
 * The flavors' `staticCheck`: the same refusal before anything builds (`imgb validate`), from the
 * Dockerfile as the stack names it. Inline content or extras that replace the Dockerfile in the
 * context are seen by the build's own check only.
 */
export function formatCheck(engine: string, setting: FormatSetting, image: StaticImage): InputError[] {
  const { dockerOnly } = dockerfileFacts(image.dockerfile, image);
  try {
    chooseFormat(engine, setting, image.extraFlags, dockerOnly, image.dockerfilePath);
    return [];
  } catch (e) {
    if (e instanceof InputError) return [e];
    throw e;
  }
}
