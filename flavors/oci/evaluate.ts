/**
 * One stage's instructions applied to its base image config, as BuildKit's dockerfile2llb
 * would: ENV/ARG scoping for substitution (ENV wins over ARG; all pairs of one ENV see the
 * values before it), config changes, one history entry per instruction, and COPY/ADD turned
 * into copy operations for the layer writer, RUN into run operations (the command, its
 * environment, working directory, user and secret mounts) for run.ts. What the flavor cannot
 * do (other RUN mounts, host networking) is a located InputError naming the flavors that can.
 *
 * WORKDIR only sets the config: BuildKit also adds a mkdir layer, but without the base's file
 * tree imgb cannot tell which parents exist (and must not reset e.g. /tmp's mode); docker and
 * podman create a missing working directory when the container starts.
 */
import { posix } from "node:path";
import { InputError } from "../../src/errors.ts";
import type { ContainerConfig, HistoryEntry, ImageConfig } from "../../src/image/image.ts";
import type { Dockerfile, Instruction } from "../../src/dockerfile/parse.ts";
import { argDeclarations, at, expand, type Stage } from "../../src/dockerfile/stages.ts";
import { command, exposedPorts, healthcheck, keyValues } from "./instruction_args.ts";
import type { RunOp, SecretMount } from "./run.ts";

export interface CopyOp {
  instruction: Instruction;
  add: boolean;
  /** `--from`: a stage index or an image reference; undefined = the build context. */
  from?: { stage: number } | { image: string };
  sources: string[];
  /** Absolute destination; `dirHint` when it ends with `/` (or is `.`): copy into it. */
  dest: string;
  dirHint: boolean;
  chown?: string;
  chmod?: number;
}

export interface Step {
  history: HistoryEntry;
  copy?: CopyOp;
  run?: { instruction: Instruction; op: RunOp };
}

export interface EvaluateInput {
  df: Dockerfile;
  stage: Stage;
  /** Config of the base (a copy is modified). */
  base: ImageConfig;
  buildArgs: Readonly<Record<string, string>>;
  metaArgs: ReadonlyMap<string, string>;
  /** `created` of every history entry and the image. */
  created: string;
  /** Resolve a `--from` value to a stage index, undefined for an image reference. */
  stageIndex(value: string): number | undefined;
}

const ENGINES = "docker, podman or buildah";
const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const COPY_FLAGS = new Set(["from", "chown", "chmod", "link"]);

export function evaluateStage(input: EvaluateInput): { config: ImageConfig; steps: Step[] } {
  const { df, stage } = input;
  const image: ImageConfig = structuredClone(input.base);
  image.created = input.created;
  const c: ContainerConfig = (image.config ??= {});
  // BuildKit gives a Linux image without PATH the default one (e.g. FROM scratch).
  if (!(c.Env ?? []).some((e) => e.startsWith("PATH="))) c.Env = [DEFAULT_PATH, ...(c.Env ?? [])];
  if (c.OnBuild && c.OnBuild.length > 0) {
    throw new InputError("oci.onbuild", `The base image of stage ${stage.name ?? stage.index} has ONBUILD triggers, which the 'oci' flavor cannot run`, {
      location: at(df, stage.from),
      hint: `use ${ENGINES}`,
    });
  }
  const args = new Map<string, string>();
  const env = () => {
    const m = new Map(args);
    for (const e of c.Env ?? []) {
      const eq = e.indexOf("=");
      m.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? "" : e.slice(eq + 1));
    }
    return m;
  };
  const word = (ins: Instruction, w: string) => expand(df, ins, w, env());
  const steps: Step[] = [];
  let cmdSet = false;
  const history = (ins: Instruction, empty = true): HistoryEntry => ({ created: input.created, created_by: ins.text, comment: "imgb oci", ...(empty ? { empty_layer: true } : {}) });

  for (const ins of stage.instructions) {
    const fail = (message: string, hint?: string) => new InputError("dockerfile.invalid", `${ins.keyword}: ${message}`, { location: at(df, ins), ...(hint ? { hint } : {}) });
    switch (ins.keyword) {
      case "ARG":
        for (const [name, def] of argDeclarations(df, ins)) {
          const value = input.buildArgs[name] ?? (def !== undefined ? word(ins, def) : input.metaArgs.get(name));
          if (value !== undefined) args.set(name, value);
        }
        break;
      case "ENV":
      case "LABEL": {
        const pairs = keyValues(ins, df.escape, fail).map(([k, v]) => [word(ins, k), word(ins, v)] as const);
        for (const [k, v] of pairs) {
          if (ins.keyword === "ENV") c.Env = [...(c.Env ?? []).filter((e) => !e.startsWith(`${k}=`)), `${k}=${v}`];
          else c.Labels = { ...c.Labels, [k]: v };
        }
        break;
      }
      case "WORKDIR":
        if (ins.args === "") throw fail("a path is required");
        c.WorkingDir = posix.resolve(c.WorkingDir || "/", word(ins, ins.args));
        break;
      case "USER":
        if (ins.args === "") throw fail("a user is required");
        c.User = word(ins, ins.args);
        break;
      case "EXPOSE":
        for (const w of ins.args.split(/\s+/).filter(Boolean)) for (const p of exposedPorts(word(ins, w), fail)) c.ExposedPorts = { ...c.ExposedPorts, [p]: {} };
        break;
      case "VOLUME":
        for (const v of ins.json ?? ins.args.split(/\s+/).filter(Boolean)) c.Volumes = { ...c.Volumes, [word(ins, v)]: {} };
        break;
      case "STOPSIGNAL":
        c.StopSignal = word(ins, ins.args);
        if (!/^(SIG[A-Z0-9+-]+|\d+)$/.test(c.StopSignal)) throw fail(`invalid signal ${JSON.stringify(c.StopSignal)}`);
        break;
      case "SHELL":
        if (!ins.json || ins.json.length === 0) throw fail('requires the arguments in JSON form, e.g. SHELL ["/bin/bash", "-c"]');
        c.Shell = ins.json;
        break;
      case "CMD":
        c.Cmd = command(ins, c);
        cmdSet = true;
        break;
      case "ENTRYPOINT":
        c.Entrypoint = command(ins, c);
        // Docker: a CMD inherited from the base is reset by ENTRYPOINT.
        if (!cmdSet) c.Cmd = null;
        break;
      case "HEALTHCHECK":
        c.Healthcheck = healthcheck(ins, fail);
        break;
      case "MAINTAINER":
        image.author = ins.args;
        break;
      case "ONBUILD":
        c.OnBuild = [...(c.OnBuild ?? []), ins.args];
        break;
      case "COPY":
      case "ADD": {
        steps.push({ history: history(ins, false), copy: copyOp(ins, input, word, c.WorkingDir || "/", fail) });
        continue;
      }
      case "RUN": {
        const run = runOp(ins, c, args, env(), fail);
        steps.push({ history: { ...history(ins, false), created_by: run.createdBy }, run: { instruction: ins, op: run.op } });
        continue;
      }
      default:
        throw new InputError("oci.unsupported-instruction", `Unknown or unsupported instruction ${ins.keyword} for the 'oci' flavor`, { location: at(df, ins), hint: `use ${ENGINES}` });
    }
    steps.push({ history: history(ins) });
  }
  return { config: image, steps };
}

const SHELL_DEFAULT = ["/bin/sh", "-c"];

/**
 * RUN: shell form in the image's SHELL, exec form as written; the environment is the image's Env
 * plus the stage's ARGs Env does not set (BuildKit's rule). `createdBy` as BuildKit writes the
 * history: `RUN |2 A=1 B=2 /bin/sh -c cmd` (the `|N` prefix lists the ARGs in scope).
 */
function runOp(ins: Instruction, c: ContainerConfig, args: ReadonlyMap<string, string>, env: ReadonlyMap<string, string>, fail: (m: string, hint?: string) => Error): { op: RunOp; createdBy: string } {
  for (const [flag, value] of Object.entries(ins.flags)) {
    if (flag === "mount") continue;
    if (flag === "network" && (value === "none" || value === "default")) continue;
    if (flag === "security" && value === "sandbox") continue;
    if (flag === "network") throw fail(`--network=${value} is not supported by the 'oci' flavor: RUN steps have no network (none)`, `use --network=none, or ${ENGINES}`);
    throw fail(`flag --${flag}${flag === "security" ? `=${value}` : ""} is not supported by the 'oci' flavor`, `use ${ENGINES}`);
  }
  const secrets = mountFlags(ins).map((m) => secretMount(m, c.WorkingDir || "/", fail));
  let argv: string[];
  if (ins.json) {
    if (ins.json.length === 0) throw fail("requires a command");
    argv = ins.json;
  } else {
    if (ins.args.trim() === "") throw fail("requires a command");
    argv = [...(c.Shell && c.Shell.length > 0 ? c.Shell : SHELL_DEFAULT), ins.args];
  }
  const inEnv = new Set((c.Env ?? []).map((e) => e.slice(0, e.indexOf("=") < 0 ? e.length : e.indexOf("="))));
  const runEnv = [...(c.Env ?? []), ...[...args].filter(([k]) => !inEnv.has(k)).map(([k, v]) => `${k}=${v}`)];
  const scope = [...args.keys()].map((k) => `${k}=${env.get(k) ?? ""}`);
  const createdBy = `RUN ${[...(scope.length > 0 ? [`|${scope.length}`, ...scope] : []), ...argv].join(" ")}`;
  return { op: { argv, env: runEnv, workdir: c.WorkingDir || "/", user: c.User ?? "", secrets }, createdBy };
}

/**
 * Every `--mount=` of a RUN, in order. The parser keeps one value per flag name, and a RUN may
 * mount several secrets: they are read again from the instruction's text (same flag syntax).
 */
function mountFlags(ins: Instruction): string[] {
  if (ins.flags.mount === undefined) return [];
  let rest = ins.text.replace(/^\s*\S+\s*/, "");
  const out: string[] = [];
  for (;;) {
    const f = rest.match(/^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?(?:\s+|$)/);
    if (!f) break;
    if (f[1]!.toLowerCase() === "mount") out.push(f[2] ?? "");
    rest = rest.slice(f[0].length);
  }
  return out;
}

/** `type=secret,id=ID[,target=PATH][,required][,mode=0400][,uid=0][,gid=0]` as BuildKit reads it. */
function secretMount(value: string, workdir: string, fail: (m: string, hint?: string) => Error): SecretMount {
  const fields = new Map<string, string>();
  for (const part of value.split(",").filter(Boolean)) {
    const eq = part.indexOf("=");
    fields.set((eq < 0 ? part : part.slice(0, eq)).toLowerCase(), eq < 0 ? "true" : part.slice(eq + 1));
  }
  const type = fields.get("type") ?? "bind";
  if (type !== "secret") {
    throw fail(`--mount=type=${type} is not supported by the 'oci' flavor (only type=secret)`, `${type === "ssh" ? "ssh forwarding needs" : "use"} ${ENGINES}`);
  }
  const target = fields.get("target") ?? fields.get("dst") ?? fields.get("destination");
  const id = fields.get("id") ?? (target ? posix.basename(target) : undefined);
  if (!id) throw fail("--mount=type=secret needs an id (or a target)");
  const number = (key: string, radix: number, fallback: number) => {
    const v = fields.get(key);
    if (v === undefined) return fallback;
    if (!(radix === 8 ? /^[0-7]{1,4}$/ : /^\d+$/).test(v)) throw fail(`--mount=type=secret: invalid ${key} ${JSON.stringify(v)}`);
    return Number.parseInt(v, radix);
  };
  const required = fields.get("required") ?? "false";
  if (required !== "true" && required !== "false") throw fail(`--mount=type=secret: required must be true or false, got ${JSON.stringify(required)}`);
  for (const key of fields.keys()) {
    if (!["type", "id", "target", "dst", "destination", "required", "mode", "uid", "gid"].includes(key)) throw fail(`--mount=type=secret: option ${JSON.stringify(key)} is not supported by the 'oci' flavor`, `use ${ENGINES}`);
  }
  return { id, target: posix.resolve(workdir, target ?? `/run/secrets/${id}`), required: required === "true", mode: number("mode", 8, 0o400), uid: number("uid", 10, 0), gid: number("gid", 10, 0) };
}

function copyOp(ins: Instruction, input: EvaluateInput, word: (ins: Instruction, w: string) => string, workdir: string, fail: (m: string, hint?: string) => Error): CopyOp {
  for (const flag of Object.keys(ins.flags)) {
    if (!COPY_FLAGS.has(flag)) throw fail(`flag --${flag} is not supported by the 'oci' flavor`, `use ${ENGINES}`);
  }
  const words = (ins.json ?? ins.args.split(/\s+/).filter(Boolean)).map((w) => word(ins, w));
  if (words.length < 2) throw fail("requires at least one source and a destination");
  const sources = words.slice(0, -1);
  const rawDest = words.at(-1)!;
  const op: CopyOp = {
    instruction: ins,
    add: ins.keyword === "ADD",
    sources,
    dest: posix.resolve(workdir, rawDest),
    dirHint: rawDest.endsWith("/") || rawDest === "." || rawDest.endsWith("/."),
  };
  for (const s of sources) {
    if (op.add && /^(https?:\/\/|git@|git:\/\/)/.test(s)) throw fail(`remote source ${JSON.stringify(s)} is not supported by the 'oci' flavor (local sources only)`, `download it into the build context first, or use ${ENGINES}`);
  }
  if (ins.flags.from !== undefined) {
    const from = word(ins, ins.flags.from);
    const stage = input.stageIndex(from);
    op.from = stage === undefined ? { image: from } : { stage };
  }
  if (ins.flags.chown !== undefined) op.chown = word(ins, ins.flags.chown);
  if (ins.flags.chmod !== undefined) {
    const mode = word(ins, ins.flags.chmod);
    if (!/^[0-7]{3,4}$/.test(mode)) throw fail(`--chmod must be octal like 755: got ${JSON.stringify(mode)} (symbolic modes are not supported)`);
    op.chmod = Number.parseInt(mode, 8);
  }
  return op;
}
