/**
 * What can be known about a stack before anything builds, from what the flavor declares:
 * several platforms on a flavor that makes one image per build, a `RUN` for a flavor that runs
 * no containers (its `capabilities`), and whatever its `staticCheck` refuses for its config
 * (podman's `format: oci` with a HEALTHCHECK). `imgb validate` reports these with the other
 * input errors and `imgb build` refuses them before the first build, so validate never accepts
 * what build refuses. The Dockerfile is parsed once per image, and only the stages the target
 * needs are looked at (as BuildKit, which skips the others); one imgb cannot parse is left to
 * the engine.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import type { AnyFlavor, StaticImage } from "../builder/flavor.ts";
import { parseDockerfile, type Dockerfile } from "../dockerfile/parse.ts";
import { at, parsePlatform, planBuild } from "../dockerfile/stages.ts";
import { InputError, RuntimeError } from "../errors.ts";
import type { ResolvedImage, ResolvedStack } from "../stack/model.ts";

export async function staticChecks(stack: ResolvedStack, flavor: AnyFlavor, images: readonly string[] = Object.keys(stack.images)): Promise<InputError[]> {
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
    errors.push(...undeclaredOptions(stack, flavor, image));
    errors.push(...mountsRefused(stack, flavor, image));
    if (caps.run !== false && !flavor.staticCheck) continue;
    const df = dockerfileOf(stack, image);
    if (!df) continue;
    if (caps.run === false) {
      const run = firstRun(stack, image, df, flavor.name);
      if (run) errors.push(run);
    }
    if (flavor.staticCheck) errors.push(...(await flavorCheck(stack, flavor, image, df)));
  }
  return errors;
}

/**
 * The image's Dockerfile as the build will send it (an extra file at its path replaces the one
 * on disk), parsed; undefined when it is missing (the stack's own checks say so) or imgb cannot
 * parse it (the build does).
 */
function dockerfileOf(stack: ResolvedStack, image: ResolvedImage): Dockerfile | undefined {
  try {
    if (image.dockerfileInline !== undefined) return parseDockerfile(image.dockerfileInline, stack.file);
    if (!image.dockerfile) return undefined;
    const inContext = image.context ? relative(image.context, image.dockerfile) : undefined;
    const extra = image.extraFiles.find((x) => x.destination === inContext);
    if (extra?.content !== undefined) return parseDockerfile(extra.content, image.dockerfile);
    const file = extra?.source ?? image.dockerfile;
    return parseDockerfile(readFileSync(file, "utf8"), file);
  } catch {
    return undefined;
  }
}

/** The flavor's own check; errors located in an inline Dockerfile point at its stack key. */
async function flavorCheck(stack: ResolvedStack, flavor: AnyFlavor, image: ResolvedImage, df: Dockerfile): Promise<InputError[]> {
  const inline = image.dockerfileInline !== undefined;
  const seen: StaticImage = { name: image.name, dockerfile: df, dockerfilePath: df.file, buildArgs: image.buildArgs, platforms: image.platforms, target: image.target, extraFlags: image.extraFlags, secrets: image.secrets.map((s) => s.id), ssh: image.ssh.map((s) => s.id) };
  Object.assign(seen, { stackFile: stack.file, cacheFrom: image.cacheFrom, cacheTo: image.cacheTo, annotations: image.annotations });
  if (stack.containerRegistry) seen.containerRegistry = stack.containerRegistry.uri;
  // With builder nodes, any node may end up building the image (work moves when one goes
  // down): each node's config is checked, and an error several of them find is said once.
  const configs = stack.imageBuilder.nodes?.map((n) => n.config) ?? [stack.imageBuilder.config];
  const found: InputError[] = [];
  const said = new Set<string>();
  for (const config of configs) {
    let some: InputError[];
    try {
      some = await flavor.staticCheck!(config, seen);
    } catch (e) {
      if (e instanceof InputError) some = [e];
      else throw new RuntimeError("build.flavor-failed", `Flavor '${flavor.name}' failed while checking image '${image.name}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    for (const e of some) {
      const key = `${e.code}|${e.message}|${e.location?.path ?? ""}|${e.location?.line ?? ""}`;
      if (!said.has(key)) found.push(e);
      said.add(key);
    }
  }
  // An error at a stack key stays there (placed in the stack file when it came without one);
  // Dockerfile lines of an inline Dockerfile move to dockerfile_inline.
  return found.map((e) => {
    const hint = e.hint ? { hint: e.hint } : {};
    if (e.location?.path !== undefined) return e.location.file === undefined ? new InputError(e.code, e.message, { location: { ...e.location, file: stack.file }, ...hint }) : e;
    if (!inline) return e;
    return new InputError(e.code, `${e.message} (image '${image.name}', line ${e.location?.line ?? "?"} of its inline Dockerfile)`, { location: { file: stack.file, path: `/images/${image.name}/dockerfile_inline` }, ...hint });
  });
}

/** Secrets or ssh forwards for a flavor that declares it cannot mount them (oci: no RUN at all). */
function mountsRefused(stack: ResolvedStack, flavor: AnyFlavor, image: ResolvedImage): InputError[] {
  const caps = flavor.capabilities ?? {};
  const out: InputError[] = [];
  const refuse = (key: "secrets" | "ssh", what: string) =>
    out.push(new InputError(`build.${key}-unsupported`, `The ${flavor.name} flavor cannot give RUN steps ${what}: image '${image.name}' sets '${key}'`, {
      location: { file: stack.file, path: `/images/${image.name}/${key}` },
      hint: "use an engine flavor that runs containers with BuildKit-style mounts (docker with BuildKit, podman or buildah)",
    }));
  if (caps.secrets === false && image.secrets.length) refuse("secrets", "build secrets");
  if (caps.ssh === false && image.ssh.length) refuse("ssh", "SSH forwarding");
  return out;
}

function firstRun(stack: ResolvedStack, image: ResolvedImage, df: Dockerfile, flavorName: string): InputError | undefined {
  const inline = image.dockerfileInline !== undefined;
  try {
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

/** cache_from/cache_to/annotations on a flavor that does not declare it maps them (capabilities). */
function undeclaredOptions(stack: ResolvedStack, flavor: AnyFlavor, image: ResolvedImage): InputError[] {
  const caps = flavor.capabilities ?? {};
  const uses: [key: string, used: boolean, declared: boolean | undefined, capability: string][] = [
    ["cache_from", image.cacheFrom.length > 0, caps.registryCache, "registryCache"],
    ["cache_to", image.cacheTo.length > 0, caps.registryCache, "registryCache"],
    ["annotations", Object.keys(image.annotations).length > 0, caps.annotations, "annotations"],
  ];
  return uses
    .filter(([, used, declared]) => used && declared !== true)
    .map(([key, , , capability]) => new InputError("build.option-unsupported", `The '${flavor.name}' flavor does not support '${key}' (image '${image.name}'): it does not declare capabilities.${capability}`, {
      location: { file: stack.file, path: `/images/${image.name}/${key}` },
      hint: "remove the key, or use a built-in flavor that supports it (see the README's per-flavor table)",
    }));
}
