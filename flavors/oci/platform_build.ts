/**
 * Build the stages a target needs for one platform: each stage starts from scratch, an earlier
 * stage or a fetched base image, its instructions are evaluated, every COPY/ADD becomes a
 * layer, and every RUN that changes files too (run_step.ts). COPY layers are shared between
 * platforms and stages when their entries are identical (the cache key), so a multi-platform
 * build of COPY-only stages writes each layer once.
 */
import { posix } from "node:path";
import { InputError } from "../../src/errors.ts";
import type { BuildContext } from "../../src/context/build_context.ts";
import type { BuildSecret } from "../../src/builder/build_options.ts";
import type { ImageConfig } from "../../src/image/image.ts";
import { fetchBase, scratchConfig, type BaseLayer } from "../../src/image/remote/fetch_image.ts";
import { copyEntries, hasWildcard } from "./copy.ts";
import type { Dockerfile } from "../../src/dockerfile/parse.ts";
import { evaluateStage, type CopyOp } from "./evaluate.ts";
import type { Blob } from "../../src/image/built_image.ts";
import { writeLayer, type Layer, type LayerEntry } from "../../src/image/layer.ts";
import { resolveOwner } from "./owner.ts";
import type { Registries } from "../../src/image/remote/registries.ts";
import { at, stageByName, type BuildPlan, type Platform } from "../../src/dockerfile/stages.ts";
import { applyLayerBlob, normalize, readNode, type FileTree } from "./tree.ts";
import { runStep, StageRootfs } from "./run_step.ts";
import { buildMetaArgs, stagePlatform } from "./stage_platform.ts";

/** A stage's file system, lowest first: base layers in a registry, then this build's COPY and RUN layers. */
type Lower = { remote: BaseLayer } | { entries: LayerEntry[] } | { blob: string };

export interface StageResult {
  config: ImageConfig;
  layers: Blob[];
  lowers: Lower[];
  scratch: boolean;
  /** The base (or a stage's base) came from an index. */
  multiPlatform: boolean;
  /** What the stage's files are for: where its RUN steps run. */
  platform: Platform;
}

/** What one platform's build reads (not the host's BuilderEnv: that is log, signal, report). */
export interface PlatformBuildInputs {
  df: Dockerfile;
  plan: BuildPlan;
  context: BuildContext;
  contextTree: FileTree;
  buildArgs: Readonly<Record<string, string>>;
  registries: Registries;
  tmp: string;
  epoch: number;
  created: string;
  compressionLevel: number;
  signal: AbortSignal;
  log(line: string): void;
  /** The build's secrets, for RUN --mount=type=secret. */
  secrets: readonly BuildSecret[];
  /** Layers by content key, shared across stages and platforms. */
  layerCache: Map<string, Promise<Layer>>;
}

export async function buildPlatform(env: PlatformBuildInputs, platform: Platform): Promise<StageResult> {
  const results = new Map<number, StageResult>();
  const metaArgs = buildMetaArgs(env.plan);
  for (const index of env.plan.order) {
    const stage = env.plan.stages[index]!;
    env.log(`[${stage.name ?? index}] ${stage.from.text}`);
    // FROM --platform picks another platform's base ($BUILDPLATFORM: this machine's, so its RUN steps run natively).
    const stagePlatformOf = stagePlatform(env.df, stage, metaArgs, platform, (i) => results.get(i)!.platform);
    let base: StageResult;
    if (stage.base.kind === "scratch") base = { config: scratchConfig(platform), layers: [], lowers: [], scratch: true, multiPlatform: false, platform };
    else if (stage.base.kind === "stage") base = results.get(stage.base.index)!;
    else base = await imageStage(env, stage.base.ref, stagePlatformOf);
    const { config, steps } = evaluateStage({
      df: env.df,
      stage,
      base: base.config,
      buildArgs: env.buildArgs,
      metaArgs,
      created: env.created,
      stageIndex: (v) => stageByName(env.plan.stages, v, stage.index)?.index,
    });
    const result: StageResult = { config, layers: [...base.layers], lowers: [...base.lowers], scratch: base.scratch, multiPlatform: base.multiPlatform, platform: stagePlatformOf };
    config.rootfs = { type: "layers", diff_ids: [...(base.config.rootfs?.diff_ids ?? [])] };
    config.history = [...(base.config.history ?? [])];
    const label = stage.name ?? String(index);
    let rootfs: StageRootfs | undefined;
    try {
      for (const step of steps) {
        config.history.push(step.history);
        if (step.run) {
          env.log(`[${label}] ${step.run.instruction.text}`);
          rootfs ??= StageRootfs.create(env.tmp);
          const layer = await runStep(env, step.run, rootfs, result.layers, result.platform, label);
          if (!layer) {
            step.history.empty_layer = true;
            continue;
          }
          result.layers.push({ descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, path: layer.path });
          result.lowers.push({ blob: layer.path });
          config.rootfs.diff_ids.push(layer.diffId);
          rootfs.holds(result.layers.length);
          continue;
        }
        if (!step.copy) continue;
        env.log(`[${label}] ${step.copy.instruction.text}`);
        const entries = await copyStep(env, step.copy, result, results, platform);
        const layer = await layerFor(env, entries);
        result.layers.push({ descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, path: layer.path });
        result.lowers.push({ entries });
        config.rootfs.diff_ids.push(layer.diffId);
      }
    } finally {
      rootfs?.remove();
    }
    results.set(index, result);
  }
  return results.get(env.plan.order.at(-1)!)!;
}

async function imageStage(env: PlatformBuildInputs, ref: string, platform: Platform): Promise<StageResult> {
  const base = await fetchBase(ref, platform, env.registries);
  const layers = base.layers.map((l): Blob => ({ descriptor: l.descriptor, remote: l.remote }));
  return { config: base.config, layers, lowers: base.layers.map((remote) => ({ remote })), scratch: false, multiPlatform: base.multiPlatform, platform };
}

async function copyStep(env: PlatformBuildInputs, op: CopyOp, current: StageResult, results: Map<number, StageResult>, platform: Platform): Promise<LayerEntry[]> {
  const location = at(env.df, op.instruction);
  let tree = env.contextTree;
  let origin = "build context";
  if (op.from) {
    const source = "stage" in op.from ? results.get(op.from.stage)! : await imageStage(env, op.from.image, platform);
    origin = "stage" in op.from ? `stage ${JSON.stringify(env.plan.stages[op.from.stage]!.name ?? String(op.from.stage))}` : `image ${op.from.image}`;
    tree = await stageTree(env, source, wantSources(op.sources));
  }
  const owner = op.chown === undefined ? undefined : await resolveOwner(op.chown, () => stageTree(env, current, (p) => p === "etc/passwd" || p === "etc/group"), location);
  const entries = copyEntries({ op, tree, owner, withParents: current.scratch, origin, location });
  if (op.add) for (const e of entries) if (e.type === "file" && isArchive(e)) {
    throw new InputError("oci.add-archive", `ADD of the local archive ${JSON.stringify(e.path)} would be extracted by docker; the 'oci' flavor does not extract archives`, {
      location,
      hint: "use COPY to copy it as a file, or an engine flavor (docker, podman, buildah) to extract it",
    });
  }
  return entries;
}

/** The files of a stage, contents extracted for the paths `want` accepts. */
async function stageTree(env: PlatformBuildInputs, stage: StageResult, want: (path: string) => boolean): Promise<FileTree> {
  const tree: FileTree = new Map();
  for (const lower of stage.lowers) {
    if ("remote" in lower) {
      const blob = await env.registries.blobFile(lower.remote.descriptor.digest, lower.remote.remote);
      await applyLayerBlob(tree, blob, want, env.tmp);
    } else if ("blob" in lower) {
      await applyLayerBlob(tree, lower.blob, want, env.tmp);
    } else {
      for (const e of lower.entries) {
        // Extracting a layer creates missing parents; so does reading one into a tree.
        for (let p = posix.dirname(e.path); p !== "." && !tree.has(p); p = posix.dirname(p)) tree.set(p, { type: "dir", mode: 0o755, size: 0, uid: 0, gid: 0 });
        const node = { type: e.type === "hardlink" ? "file" : e.type, mode: e.mode, size: e.size, uid: e.uid ?? 0, gid: e.gid ?? 0 } as const;
        tree.set(e.path, { ...node, ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}), ...(e.source !== undefined ? { source: e.source } : {}), ...(e.identity ? { identity: e.identity } : {}), ...(e.data ? { data: e.data } : {}) });
      }
    }
  }
  return tree;
}

/** Paths below the fixed (wildcard-free) prefix of any source. */
function wantSources(sources: readonly string[]): (path: string) => boolean {
  const prefixes = sources.map((s) => {
    const parts = normalize(s).split("/");
    const fixed = parts.slice(0, hasWildcard(s) ? parts.findIndex(hasWildcard) : parts.length);
    return fixed.join("/");
  });
  return (path) => prefixes.some((p) => p === "" || path === p || path.startsWith(`${p}/`));
}

function isArchive(e: LayerEntry): boolean {
  const head = readNode({ ...e, type: "file", uid: 0, gid: 0 }, 512);
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const bzip2 = head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68;
  const xz = head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a;
  const tar = head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === "ustar";
  return gzip || bzip2 || xz || tar;
}

async function layerFor(env: PlatformBuildInputs, entries: LayerEntry[]): Promise<Layer> {
  const key = JSON.stringify(entries.map((e) => [e.path, e.type, e.mode, e.size, e.linkTarget, e.source, e.uid, e.gid, e.data ? Bun.hash(e.data).toString() : undefined]));
  let layer = env.layerCache.get(key);
  if (!layer) {
    layer = writeLayer(entries, `${env.tmp}/layer-${env.layerCache.size}.tar.gz`, { mtime: env.epoch, level: env.compressionLevel, signal: env.signal });
    env.layerCache.set(key, layer);
    const l = await layer;
    env.log(`layer ${l.digest} (${entries.length} entries, ${l.size} bytes)`);
  }
  return layer;
}
