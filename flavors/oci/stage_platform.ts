/**
 * Which platform a stage's files (and so its RUN steps) are for: the target's, unless the stage
 * starts FROM --platform=… (another stage's platform when it starts from that stage). BuildKit's
 * BUILD* args name the machine that builds, so `FROM --platform=$BUILDPLATFORM` is this one and
 * such a stage runs natively; the build plan expanded the flag with the target's values (a plan
 * runs nothing), so it is expanded again here.
 */
import type { Dockerfile } from "../../src/dockerfile/parse.ts";
import { expand, parsePlatform, platformArgs, type BuildPlan, type Platform, type Stage } from "../../src/dockerfile/stages.ts";
import { hostPlatform } from "../../src/emulation.ts";

/** The plan's meta args with BUILDPLATFORM, BUILDOS, BUILDARCH and BUILDVARIANT of this machine. */
export function buildMetaArgs(plan: BuildPlan): Map<string, string> {
  const metaArgs = new Map(plan.metaArgs);
  for (const [k, v] of platformArgs(hostPlatform())) if (k.startsWith("BUILD")) metaArgs.set(k, v);
  return metaArgs;
}

/** `earlier(i)`: the platform of stage i, built before this one. */
export function stagePlatform(df: Dockerfile, stage: Stage, metaArgs: ReadonlyMap<string, string>, target: Platform, earlier: (index: number) => Platform): Platform {
  if (stage.base.kind === "stage") return earlier(stage.base.index);
  if (stage.base.kind === "image" && stage.base.platform) return parsePlatform(expand(df, stage.from, stage.from.flags.platform ?? stage.base.platform, metaArgs));
  return target;
}
