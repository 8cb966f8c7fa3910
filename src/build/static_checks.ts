/**
 * What can be known about a stack before anything builds, from the flavor's declared
 * capabilities: several platforms on a flavor that makes one image per build, a `RUN` for a
 * flavor that runs no containers. `imgb validate` reports these with the other input errors and
 * `imgb build` refuses them before the first build, so validate never accepts what build
 * refuses. The Dockerfile is parsed, and only the stages the target needs are looked at (as
 * BuildKit, which skips the others); one imgb cannot parse is left to the engine.
 */
import { readFileSync } from "node:fs";
import type { AnyFlavor } from "../builder/flavor.ts";
import { parseDockerfile } from "../dockerfile/parse.ts";
import { at, parsePlatform, planBuild } from "../dockerfile/stages.ts";
import { InputError } from "../errors.ts";
import type { ResolvedImage, ResolvedStack } from "../stack/model.ts";

export function staticChecks(stack: ResolvedStack, flavor: AnyFlavor, images: readonly string[] = Object.keys(stack.images)): InputError[] {
  const caps = flavor.capabilities ?? {};
  const errors: InputError[] = [];
  for (const name of images) {
    const image = stack.images[name];
    if (!image) continue;
    if (caps.multiPlatform === false && image.platforms.length > 1) {
      errors.push(
        new InputError("build.platforms-unsupported", `The ${flavor.name} flavor cannot build several platforms into one image: image '${name}' lists ${image.platforms.map((p) => `'${p}'`).join(", ")}`, {
          location: { file: stack.file, path: `/images/${name}/platforms` },
          hint: "list one platform per image, or use a flavor that makes manifest lists (e.g. oci)",
        }),
      );
    }
    if (caps.run === false) {
      const run = firstRun(stack, image, flavor.name);
      if (run) errors.push(run);
    }
  }
  return errors;
}

function firstRun(stack: ResolvedStack, image: ResolvedImage, flavorName: string): InputError | undefined {
  let text: string;
  try {
    text = image.dockerfileInline ?? (image.dockerfile ? readFileSync(image.dockerfile, "utf8") : "");
  } catch {
    return undefined; // a missing Dockerfile is reported by the stack's own checks
  }
  const inline = image.dockerfileInline !== undefined;
  const file = inline ? stack.file : image.dockerfile!;
  try {
    const df = parseDockerfile(text, file);
    const plan = planBuild(df, image.buildArgs, parsePlatform(image.platforms[0] ?? "linux/amd64"), image.target);
    for (const i of plan.order) {
      const ins = plan.stages[i]!.instructions.find((x) => x.keyword === "RUN");
      if (!ins) continue;
      const where = inline ? { file: stack.file, path: `/images/${image.name}/dockerfile_inline` } : at(df, ins);
      return new InputError("oci.unsupported-instruction", `RUN is not supported by the '${flavorName}' flavor (image '${image.name}'${inline ? `, line ${ins.line} of its inline Dockerfile` : ""}): it builds images without running containers`, {
        location: where,
        hint: "use an engine flavor that runs containers (docker, podman or buildah), or move the command's result into the build context and COPY it",
      });
    }
  } catch {
    return undefined; // the build reports what is wrong with the Dockerfile
  }
  return undefined;
}
