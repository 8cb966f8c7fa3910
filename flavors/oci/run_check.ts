/**
 * Before anything builds (`imgb validate`, the start of `imgb build`): does the target need a RUN
 * step, and can RUN steps run here for every platform asked for (root, util-linux, an emulator
 * for foreign platforms)? One located error per problem, at the first RUN the target needs.
 */
import type { Dockerfile, Instruction } from "../../src/dockerfile/parse.ts";
import { at, parsePlatform, planBuild, type Platform } from "../../src/dockerfile/stages.ts";
import { InputError } from "../../src/errors.ts";
import { runProblems } from "./run.ts";

/** The first RUN of the stages the target needs, undefined when none (or the Dockerfile cannot be planned: the build says why). */
export function firstRun(df: Dockerfile, buildArgs: Readonly<Record<string, string>>, platform: Platform, target?: string): Instruction | undefined {
  try {
    const plan = planBuild(df, buildArgs, platform, target);
    for (const i of plan.order) {
      const run = plan.stages[i]!.instructions.find((x) => x.keyword === "RUN");
      if (run) return run;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function runCheck(df: Dockerfile, buildArgs: Readonly<Record<string, string>>, platforms: readonly string[], target?: string): InputError[] {
  const parsed = platforms.map(parsePlatform);
  const run = firstRun(df, buildArgs, parsed[0]!, target);
  if (!run) return [];
  return runProblems(parsed).map((p) => new InputError("oci.run-unavailable", p.message, { location: at(df, run), hint: p.hint }));
}
