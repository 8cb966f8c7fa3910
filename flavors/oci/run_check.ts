/**
 * Before anything builds (`imgb validate`, the start of `imgb build`): does the target need a RUN
 * step, and can RUN steps run here on every platform they run on (root, util-linux, an emulator
 * for a foreign platform)? A stage's RUN steps run on the stage's platform (stage_platform.ts):
 * the target's, or this machine's for `FROM --platform=$BUILDPLATFORM`. One located error per
 * problem, at the first RUN that has it.
 */
import type { Dockerfile, Instruction } from "../../src/dockerfile/parse.ts";
import { at, parsePlatform, planBuild, platformString, type Platform } from "../../src/dockerfile/stages.ts";
import { InputError } from "../../src/errors.ts";
import { emulationProblems, hostProblems } from "./run.ts";
import { buildMetaArgs, stagePlatform } from "./stage_platform.ts";

/** The first RUN of each platform RUN steps run on, for the target built for `target`. */
export function runPlatforms(df: Dockerfile, buildArgs: Readonly<Record<string, string>>, target: Platform, targetStage?: string): Map<string, { platform: Platform; run: Instruction }> {
  const out = new Map<string, { platform: Platform; run: Instruction }>();
  try {
    const plan = planBuild(df, buildArgs, target, targetStage);
    const metaArgs = buildMetaArgs(plan);
    const platforms = new Map<number, Platform>();
    for (const i of plan.order) {
      const stage = plan.stages[i]!;
      const platform = stagePlatform(df, stage, metaArgs, target, (j) => platforms.get(j) ?? target);
      platforms.set(i, platform);
      const run = stage.instructions.find((x) => x.keyword === "RUN");
      if (run && !out.has(platformString(platform))) out.set(platformString(platform), { platform, run });
    }
  } catch {
    // the build says what is wrong with the Dockerfile
  }
  return out;
}

/** What the check reads of this machine: its uid and binfmt_misc (tests give others). */
export interface RunHost {
  uid?: number | undefined;
  binfmtDir?: string;
}

export function runCheck(df: Dockerfile, buildArgs: Readonly<Record<string, string>>, platforms: readonly string[], target?: string, here: RunHost = { uid: process.getuid?.() }): InputError[] {
  const runs = new Map<string, { platform: Platform; run: Instruction }>();
  for (const p of platforms) for (const [k, v] of runPlatforms(df, buildArgs, parsePlatform(p), target)) if (!runs.has(k)) runs.set(k, v);
  const errors: InputError[] = [];
  let first = true;
  for (const { platform, run } of runs.values()) {
    // Root and the tools once (at the first RUN); the emulator per platform.
    const problems = [...(first ? hostProblems(here.uid) : []), ...emulationProblems(platform, here.binfmtDir)];
    first = false;
    errors.push(...problems.map((p) => new InputError("oci.run-unavailable", p.message, { location: at(df, run), hint: p.hint })));
  }
  return errors;
}
