/**
 * The podman/buildah flavors' `imgb validate` check of registry cache and annotations: the
 * format the build will choose decides whether annotations can be kept (see image_format.ts).
 */
import type { StaticImage } from "../../src/builder/flavor.ts";
import type { InputError } from "../../src/errors.ts";
import { dockerfileFacts } from "../_engine/dockerfile_facts.ts";
import { containersProblems, locatedProblems } from "../_engine/pipeline_options.ts";
import { chooseFormat, formatInFlags, type FormatSetting } from "./image_format.ts";

export function pipelineCheck(engine: "podman" | "buildah", config: { layers: boolean; format?: FormatSetting }, image: StaticImage): InputError[] {
  let format: "oci" | "docker" | undefined;
  try {
    const fromFlags = formatInFlags(image.extraFlags);
    format = fromFlags !== undefined ? (fromFlags.startsWith("oci") ? "oci" : "docker") : chooseFormat(engine, config.format ?? "auto", image.extraFlags, dockerfileFacts(image.dockerfile, image).dockerOnly, image.dockerfilePath);
  } catch {
    format = undefined; // formatCheck reports the refused format itself
  }
  return locatedProblems(containersProblems(engine, config.layers, format, image), image);
}
