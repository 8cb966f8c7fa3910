/**
 * From a parsed Dockerfile to build stages: global ARGs (the "meta args" FROM lines may use,
 * plus BuildKit's automatic platform args), one stage per FROM with its base (scratch, an
 * earlier stage, or an image), and the stages the target needs (FROM and COPY --from
 * dependencies), in order. Instruction-level work is flavors/oci/evaluate.ts.
 */
import { InputError } from "../errors.ts";
import type { Dockerfile, Instruction } from "./parse.ts";
import { processWord, WordError } from "./words.ts";
import { platformString, type Platform } from "../platform.ts";

/** The platform (src/platform.ts, shared with the image library), re-exported for the planners that import it from here. */
export { parsePlatform, platformString, type Platform } from "../platform.ts";

export type StageBase = { kind: "scratch" } | { kind: "stage"; index: number } | { kind: "image"; ref: string; platform?: string };

export interface Stage {
  index: number;
  /** `AS name`, lower-cased as BuildKit does. */
  name?: string;
  base: StageBase;
  from: Instruction;
  instructions: Instruction[];
}

export interface BuildPlan {
  stages: Stage[];
  /** Indices of the stages to build, dependencies first; the last one is the target. */
  order: number[];
  /** Values of global ARGs (after build-arg overrides), visible to `ARG NAME` in a stage. */
  metaArgs: Map<string, string>;
  /** Build args no ARG declared (BuildKit warns about them). */
  unusedBuildArgs: string[];
}

/**
 * BuildKit's automatic platform args: TARGET… of `p`, BUILD… of `build` (default: `p`, for a
 * build where nothing runs here, such as the oci flavor's).
 */
export function platformArgs(p: Platform, build: Platform = p): Map<string, string> {
  const args = new Map<string, string>();
  for (const [prefix, q] of [["TARGET", p], ["BUILD", build]] as const) {
    args.set(`${prefix}PLATFORM`, platformString(q));
    args.set(`${prefix}OS`, q.os);
    args.set(`${prefix}ARCH`, q.architecture);
    args.set(`${prefix}VARIANT`, q.variant ?? "");
  }
  return args;
}

export function at(df: Dockerfile, ins: Instruction) {
  return { file: df.file, line: ins.line, col: 1 };
}

/** Substitute or throw an InputError located at the instruction. */
export function expand(df: Dockerfile, ins: Instruction, word: string, env: ReadonlyMap<string, string>): string {
  try {
    return processWord(word, env, df.escape);
  } catch (e) {
    if (e instanceof WordError) throw new InputError("dockerfile.substitution", `Invalid substitution in ${ins.keyword}: ${e.message}`, { location: at(df, ins) });
    throw e;
  }
}

/** `ARG a=1 b` -> [[a, "1"], [b, undefined]] (defaults not yet expanded). */
export function argDeclarations(df: Dockerfile, ins: Instruction): [string, string | undefined][] {
  if (ins.args === "") throw new InputError("dockerfile.arg", "ARG requires at least one argument", { location: at(df, ins) });
  return ins.args.split(/\s+/).map((word) => {
    const eq = word.indexOf("=");
    const name = eq < 0 ? word : word.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new InputError("dockerfile.arg", `Invalid ARG name ${JSON.stringify(name)}`, { location: at(df, ins) });
    return [name, eq < 0 ? undefined : word.slice(eq + 1)];
  });
}

export function planBuild(df: Dockerfile, buildArgs: Readonly<Record<string, string>>, platform: Platform, target?: string, buildPlatform?: Platform): BuildPlan {
  const metaArgs = platformArgs(platform, buildPlatform);
  const automatic = new Set(metaArgs.keys());
  const declared = new Set<string>();
  const stages: Stage[] = [];
  let i = 0;
  for (; i < df.instructions.length && df.instructions[i]!.keyword !== "FROM"; i++) {
    const ins = df.instructions[i]!;
    if (ins.keyword !== "ARG") {
      throw new InputError("dockerfile.no-from", `${ins.keyword} before the first FROM: only ARG may come before FROM`, { location: at(df, ins) });
    }
    for (const [name, def] of argDeclarations(df, ins)) {
      declared.add(name);
      const value = buildArgs[name] ?? (def === undefined ? undefined : expand(df, ins, def, metaArgs));
      if (value !== undefined) metaArgs.set(name, value);
      // `ARG TARGETARCH` without a default keeps BuildKit's automatic value (`FROM base-$TARGETARCH`).
      else if (!automatic.has(name)) metaArgs.delete(name);
    }
  }
  if (i === df.instructions.length) throw new InputError("dockerfile.no-from", `Dockerfile ${df.file} has no FROM instruction`, { location: { file: df.file } });
  for (; i < df.instructions.length; i++) {
    const ins = df.instructions[i]!;
    if (ins.keyword === "FROM") {
      stages.push(fromStage(df, ins, stages, metaArgs));
      continue;
    }
    if (ins.keyword === "ARG") for (const [name] of argDeclarations(df, ins)) declared.add(name);
    stages.at(-1)!.instructions.push(ins);
  }
  const targetIndex = target === undefined ? stages.length - 1 : stages.findIndex((s) => s.name === target.toLowerCase());
  if (targetIndex < 0) {
    throw new InputError("dockerfile.target", `Target stage ${JSON.stringify(target)} is not in ${df.file}`, {
      hint: `stages: ${stages.map((s) => s.name ?? String(s.index)).join(", ")}`,
    });
  }
  const order: number[] = [];
  const visit = (index: number) => {
    if (order.includes(index)) return;
    for (const dep of dependencies(df, stages, stages[index]!, metaArgs)) visit(dep);
    order.push(index);
  };
  visit(targetIndex);
  const unusedBuildArgs = Object.keys(buildArgs).filter((k) => !declared.has(k));
  return { stages, order, metaArgs, unusedBuildArgs };
}

function fromStage(df: Dockerfile, ins: Instruction, stages: Stage[], metaArgs: Map<string, string>): Stage {
  for (const flag of Object.keys(ins.flags)) {
    if (flag !== "platform") throw new InputError("dockerfile.flag", `Unknown flag --${flag} for FROM`, { location: at(df, ins) });
  }
  const words = ins.args.split(/\s+/).filter((w) => w !== "");
  if (!(words.length === 1 || (words.length === 3 && words[1]!.toLowerCase() === "as"))) {
    throw new InputError("dockerfile.from", `FROM expects "image [AS name]": got ${JSON.stringify(ins.args)}`, { location: at(df, ins) });
  }
  const ref = expand(df, ins, words[0]!, metaArgs);
  if (ref === "") throw new InputError("dockerfile.from", `FROM ${words[0]} names no image: the variable is empty`, { location: at(df, ins) });
  const name = words[2]?.toLowerCase();
  if (name !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(name)) throw new InputError("dockerfile.from", `Invalid stage name ${JSON.stringify(name)}`, { location: at(df, ins) });
  if (name !== undefined && stages.some((s) => s.name === name)) throw new InputError("dockerfile.from", `Stage name ${JSON.stringify(name)} is used twice`, { location: at(df, ins) });
  const earlier = stages.find((s) => s.name === ref.toLowerCase());
  let base: StageBase;
  if (ref.toLowerCase() === "scratch") base = { kind: "scratch" };
  else if (earlier) base = { kind: "stage", index: earlier.index };
  else {
    const platform = ins.flags.platform === undefined ? undefined : expand(df, ins, ins.flags.platform, metaArgs);
    base = platform ? { kind: "image", ref, platform } : { kind: "image", ref };
  }
  const stage: Stage = { index: stages.length, base, from: ins, instructions: [] };
  if (name !== undefined) stage.name = name;
  return stage;
}

/** The stage a `--from` value names (name or index), else undefined (an image reference). */
export function stageByName(stages: readonly Stage[], value: string, before: number): Stage | undefined {
  const byName = stages.find((s) => s.name === value.toLowerCase() && s.index < before);
  if (byName) return byName;
  return /^\d+$/.test(value) && Number(value) < before ? stages[Number(value)] : undefined;
}

function dependencies(df: Dockerfile, stages: Stage[], stage: Stage, metaArgs: Map<string, string>): number[] {
  const deps: number[] = [];
  if (stage.base.kind === "stage") deps.push(stage.base.index);
  for (const ins of stage.instructions) {
    if ((ins.keyword === "COPY" || ins.keyword === "ADD") && ins.flags.from !== undefined) {
      const from = stageByName(stages, expand(df, ins, ins.flags.from, metaArgs), stage.index);
      if (from) deps.push(from.index);
    }
  }
  return deps;
}
