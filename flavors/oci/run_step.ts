/**
 * A RUN step of a stage, end to end: the stage's root filesystem is made on disk at its first
 * RUN (every layer so far extracted into a private directory of the build's temp dir) and kept
 * up to date for the next ones (layers added since, e.g. by a COPY, are extracted on top); the
 * tree is snapshotted, the command runs (run.ts, with its secrets: run_secrets.ts), and what it changed becomes a deterministic
 * layer (snapshot.ts + the layer writer, same mtime rule as COPY layers). The directory is
 * removed when the stage ends, also on failure and cancellation.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { CancelledError } from "../../src/errors.ts";
import type { Blob } from "../../src/image/built_image.ts";
import { writeLayer, type Layer } from "../../src/image/layer.ts";
import { at, platformString, type Platform } from "../../src/dockerfile/stages.ts";
import type { Step } from "./evaluate.ts";
import type { PlatformBuildInputs } from "./platform_build.ts";
import { extractLayer } from "./rootfs.ts";
import { MOUNT_POINTS, makeWorkdir, prepareMountPoints, runInRoot } from "./run.ts";
import { diffSnapshots, takeSnapshot, type SnapshotDiff } from "./snapshot.ts";
import { prepareSecrets } from "./run_secrets.ts";

/** A stage's root filesystem on disk, with how many of the stage's layers it holds. */
export class StageRootfs {
  private applied = 0;
  private removed = false;

  private constructor(readonly dir: string) {}

  static create(tmp: string): StageRootfs {
    const dir = mkdtempSync(`${tmp}/rootfs-`);
    chmodSync(dir, 0o755); // the container's `/`: a USER other than root must be able to enter it
    return new StageRootfs(dir);
  }

  /** Extract the layers it does not hold yet. */
  async sync(env: PlatformBuildInputs, layers: readonly Blob[]): Promise<void> {
    for (; this.applied < layers.length; this.applied++) {
      if (env.signal.aborted) throw new CancelledError("Build cancelled");
      const layer = layers[this.applied]!;
      const path = layer.path ?? (await env.registries.blobFile(layer.descriptor.digest, layer.remote!));
      await extractLayer(this.dir, path);
    }
  }

  /** The layer a RUN just made is already in the directory. */
  holds(count: number): void {
    this.applied = count;
  }

  remove(): void {
    if (this.removed) return;
    this.removed = true;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let runLayers = 0;

const exclude = (p: string) => MOUNT_POINTS.some((m) => p === m || p.startsWith(`${m}/`));

/** Run the step; the layer of its changes, or undefined when it changed nothing. */
export async function runStep(env: PlatformBuildInputs, step: Required<Pick<Step, "run">>["run"], rootfs: StageRootfs, layers: readonly Blob[], platform: Platform, stage: string): Promise<Layer | undefined> {
  await rootfs.sync(env, layers);
  prepareMountPoints(rootfs.dir);
  const location = at(env.df, step.instruction);
  const secrets = prepareSecrets(rootfs.dir, env.tmp, step.op.secrets, env.secrets, location);
  let diff: SnapshotDiff;
  try {
    for (const id of secrets.absent) env.log(`note: secret '${id}' is not given to this build: the step runs without it`);
    // What RUN writes to /proc, /sys and /dev lands in the sandbox's own mounts, never in the
    // image; the secrets' mount points are made for the step and removed after it.
    const before = takeSnapshot(rootfs.dir, (p) => exclude(p) || secrets.made.has(p));
    makeWorkdir(rootfs.dir, step.op.workdir);
    await runInRoot({ root: rootfs.dir, op: step.op, platform, location, stage, binds: secrets.binds, redact: secrets.redact, signal: env.signal, log: env.log });
    const transient = secrets.transient();
    diff = diffSnapshots(rootfs.dir, before, takeSnapshot(rootfs.dir, (p) => exclude(p) || transient.has(p)));
  } finally {
    secrets.cleanup();
  }
  const { entries, skipped } = diff;
  for (const path of skipped) env.log(`note: /${path} (a socket, FIFO or device) is not kept in the layer`);
  if (entries.length === 0) {
    env.log(`[${stage}] no changes (${platformString(platform)})`);
    return undefined;
  }
  const layer = await writeLayer(entries, `${env.tmp}/run-${runLayers++}.tar.gz`, { mtime: env.epoch, level: env.compressionLevel, signal: env.signal });
  env.log(`layer ${layer.digest} (${entries.length} entries, ${layer.size} bytes)`);
  return layer;
}
