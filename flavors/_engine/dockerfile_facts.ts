/**
 * What the podman and buildah builders need to know about a Dockerfile before the engine runs:
 * the images the build starts FROM (to pull those in the stack's registry with the push's
 * settings) and the Docker-only instructions that end up in the target image (an OCI image has
 * no place for them). Read once from the context directory; a Dockerfile imgb cannot parse gives
 * no facts, and the engine reports what is wrong with it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { BuildContext } from "../../src/context/build_context.ts";
import { parseDockerfile, type Dockerfile, type Instruction } from "../../src/dockerfile/parse.ts";
import { parsePlatform, planBuild, type BuildPlan } from "../../src/dockerfile/stages.ts";

/** Instructions whose effect only the Docker image format can hold (OCI image config has no field for them). */
export const DOCKER_ONLY = ["HEALTHCHECK", "SHELL", "ONBUILD"] as const;

export interface DockerOnlyUse {
  keyword: string;
  /** 1-based line in the Dockerfile. */
  line: number;
}

export interface DockerfileFacts {
  /** FROM images of the stages the target needs (ARGs substituted), sorted; undefined when unknown. */
  bases?: string[];
  /** Docker-only instructions in the target stage and the stages it is built FROM. */
  dockerOnly: DockerOnlyUse[];
}

/** Facts about `<contextDir>/<dockerfile>` for a build with `options`. Never throws. */
export function readDockerfileFacts(contextDir: string, dockerfile: string, options: Pick<BuildOptions, "buildArgs" | "platforms" | "target">): DockerfileFacts {
  let df: Dockerfile;
  try {
    df = parseDockerfile(readFileSync(join(contextDir, dockerfile), "utf8"), dockerfile);
  } catch {
    return { dockerOnly: [] };
  }
  return dockerfileFacts(df, options);
}

/**
 * The same from a BuildContext that is streamed, not written out (docker): the Dockerfile as the
 * context sends it (an extra file or inline content may replace the one on disk). Costs a walk
 * of the context, so callers ask only when they need the answer.
 */
export async function contextDockerfileFacts(context: BuildContext, options: Pick<BuildOptions, "buildArgs" | "platforms" | "target">): Promise<DockerfileFacts> {
  try {
    const entry = (await context.files()).find((e) => e.path === context.dockerfile);
    const text = entry?.content ? new TextDecoder().decode(entry.content) : entry?.source ? readFileSync(entry.source, "utf8") : undefined;
    return text === undefined ? { dockerOnly: [] } : dockerfileFacts(parseDockerfile(text, context.dockerfile), options);
  } catch {
    return { dockerOnly: [] };
  }
}

/** Pure: unit-tested without files. */
export function dockerfileFacts(df: Dockerfile, options: Pick<BuildOptions, "buildArgs" | "platforms" | "target">): DockerfileFacts {
  let plan: BuildPlan;
  try {
    plan = planBuild(df, options.buildArgs, parsePlatform(options.platforms[0] ?? "linux/amd64"), options.target);
  } catch {
    // Stages unknown: every Docker-only instruction counts, so that none is lost silently.
    return { dockerOnly: df.instructions.filter(isDockerOnly).map(use) };
  }
  const bases = new Set<string>();
  for (const i of plan.order) {
    const base = plan.stages[i]!.base;
    if (base.kind === "image") bases.add(base.ref);
  }
  // Image config is inherited along FROM <stage> only (COPY --from copies files, not config).
  const chain: Instruction[] = [];
  for (let stage = plan.stages[plan.order.at(-1)!]; stage; stage = stage.base.kind === "stage" ? plan.stages[stage.base.index] : undefined) {
    chain.push(...stage.instructions.filter(isDockerOnly));
  }
  return { bases: [...bases].sort(), dockerOnly: chain.map(use).sort((a, b) => a.line - b.line) };
}

function isDockerOnly(ins: Instruction): boolean {
  return (DOCKER_ONLY as readonly string[]).includes(ins.keyword);
}

function use(ins: Instruction): DockerOnlyUse {
  return { keyword: ins.keyword, line: ins.line };
}
