/**
 * Before a podman/buildah build for a foreign platform (linux/arm64 on an x86_64 machine): will
 * its RUN steps find an emulator? Without one the engine fails at the first RUN with a bare
 * "exec format error"; this says first which platform, which package and what to check
 * (src/emulation.ts). Only for an engine on this machine (a podman service elsewhere has its own
 * binfmt_misc), and only when a stage the target needs RUNs on the target platform: a stage
 * `FROM --platform=…` (the cross-compiling `$BUILDPLATFORM` pattern) runs where its flag says.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import { parseDockerfile, type Dockerfile } from "../../src/dockerfile/parse.ts";
import { planBuild, type Stage } from "../../src/dockerfile/stages.ts";
import { emulationProblem, hostPlatform } from "../../src/emulation.ts";
import { RuntimeError } from "../../src/errors.ts";
import { parsePlatform, type Platform } from "../../src/platform.ts";

/** Does building `df` for `platform` run a RUN step on that platform? Unknown (unparsable): false, the engine decides. */
export function runsOnTarget(df: Dockerfile, options: Pick<BuildOptions, "buildArgs" | "target">, platform: Platform): boolean {
  let stages: Stage[];
  let order: number[];
  try {
    ({ stages, order } = planBuild(df, options.buildArgs, platform, options.target));
  } catch {
    return false;
  }
  return order.some((i) => {
    let root = stages[i]!;
    while (root.base.kind === "stage") root = stages[root.base.index]!;
    const pinned = root.base.kind === "image" && root.base.platform !== undefined;
    return !pinned && stages[i]!.instructions.some((ins) => ins.keyword === "RUN");
  });
}

/**
 * The error for the first of `platforms` whose RUN steps cannot run here, or undefined.
 * `binfmtDir` and `host`: the machine's, replaceable for tests.
 */
export function emulationError(contextDir: string, dockerfile: string, imageName: string, options: Pick<BuildOptions, "buildArgs" | "target">, platforms: readonly string[], host: Platform = hostPlatform(), binfmtDir?: string): RuntimeError | undefined {
  const problems = platforms.flatMap((p) => {
    const problem = emulationProblem(parsePlatform(p), host, binfmtDir);
    return problem ? [{ platform: p, problem }] : [];
  });
  if (problems.length === 0) return undefined;
  let df: Dockerfile;
  try {
    df = parseDockerfile(readFileSync(join(contextDir, dockerfile), "utf8"), dockerfile);
  } catch {
    return undefined;
  }
  const first = problems.find((p) => runsOnTarget(df, options, parsePlatform(p.platform)));
  if (!first) return undefined;
  return new RuntimeError("build.emulator-missing", `Build of image '${imageName}' for ${first.platform} cannot run its RUN steps: ${first.problem}`);
}
