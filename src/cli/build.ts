/**
 * `imgb build`: build the images of a stack (all, or those named and what they need), in
 * dependency order and in parallel, reusing identical earlier builds, pushing when the stack has
 * a registry. stdout gets one reference per selected image (the digest reference when pushed),
 * so `$(imgb build app)` is the image to deploy; progress and the summary go to stderr.
 */
import { availableParallelism } from "node:os";
import { rename, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { storeHashCache } from "../orchestrate/context_digest.ts";
import type { ImageResult } from "../orchestrate/events.ts";
import { reuseMode, storeReuseCache, type ReuseCache } from "../orchestrate/reuse.ts";
import { runBuild, type BuildRun } from "../orchestrate/run_build.ts";
import { CancelledError, InputError, isDiskFull, RuntimeError, UsageError, writeError } from "../errors.ts";
import { Store } from "../store/store.ts";
import { renderer, seconds, type ProgressMode } from "./_progress.ts";
import { loadStackForCommand, useAutoFlavor } from "./_stack.ts";
import { applyDestination, buildFlagOptions, buildFlagOverrides } from "./_build_flags.ts";
import { selectTargets } from "../stack/groups.ts";
import { defineCommand, fileOption } from "./command.ts";
import { errJson, type Io } from "./io.ts";

export const DEFAULT_JOBS = Math.min(4, Math.max(2, availableParallelism()));

export default defineCommand({
  name: "build",
  summary: "Build the images of a stack (dependencies first, in parallel) and push them to its registry",
  usage: "build [-f FILE] [IMAGE…] [--push | --load] [--no-cache] [--pull] [--platform P,…] [--jobs N] [--reuse MODE] [--no-reuse] [--progress MODE] [--metadata-file FILE]",
  examples: [
    "imgb build",
    "imgb build -f deploy/imgb.yaml app worker",
    "ref=$(imgb build app) && kubectl set image deploy/app app=$ref",
    "imgb build --set '*.platforms=linux/amd64' --set app.build_args.V=2 --progress plain",
    "imgb build --load --no-cache --platform linux/arm64   # local images, even with a registry",
    "imgb build --metadata-file build.json",
    "imgb build --output oci-layout:./out   # with the oci flavor",
  ],
  options: {
    ...fileOption,
    jobs: { type: "string", short: "j", value: "N", description: `Images built at once, on each builder node (default ${DEFAULT_JOBS}); with one engine, reused images' lookups and re-tags take no slot` },
    "fail-fast": { type: "boolean", description: "Stop all builds at the first failure" },
    "no-reuse": { type: "boolean", description: "Build even when an identical build exists (--reuse off)" },
    reuse: { type: "string", value: "MODE", choices: ["registry", "local", "off"], description: "registry (local record, else the registry's record tag), local, or off (default: the stack's reuse, else registry with a registry)" },
    progress: { type: "string", value: "MODE", choices: ["auto", "tty", "plain", "json"], description: "auto, tty, plain or json (default auto: tty when stderr is a terminal)" },
    set: { type: "strings", value: "IMAGE.KEY=VALUE", description: "Override an image key, e.g. app.target=debug or '*.no_cache=true'" },
    ...buildFlagOptions,
    output: { type: "string", value: "TYPE:DEST", description: "Where the flavor writes images, for flavors with an `output` setting (oci: registry, oci-layout:DIR, docker-archive:FILE)" },
    "metadata-file": { type: "string", value: "FILE", description: "Write JSON {image: {ref, digest, imageId, platforms?, checksum, reused, duration}} to FILE" },
  },
  positionals: [{ name: "IMAGE", description: "Images or groups to build, with what they depend on (default: the group 'default', else all)", variadic: true }],
  async run(args, io) {
    const o = args.options;
    const jobs = o.jobs === undefined ? DEFAULT_JOBS : Number(o.jobs);
    if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError("cli.bad-jobs", `Invalid --jobs '${o.jobs}': expected a whole number >= 1`);
    const mode = (o.progress ?? "auto") as ProgressMode;
    if (!["auto", "tty", "plain", "json"].includes(mode)) throw new UsageError("cli.bad-progress", `Invalid --progress '${o.progress}'`, { hint: "one of: auto, tty, plain, json" });

    // --output is the flavor's own `output` config key: validated by its schema like the file's.
    const { stack, catalog } = await loadStackForCommand(o, io, [...buildFlagOverrides(o), ...o.set], o.output === undefined ? undefined : { output: o.output });
    const targets = selectTargets(stack, args.positionals);
    await useAutoFlavor(stack, catalog, io);
    const { flavor, origin } = catalog.get(stack.imageBuilder.flavor)!;
    applyDestination(stack, flavor, o);
    const reuse = reuseMode(stack, o.reuse, o["no-reuse"]);
    const store = openStore(io);
    const view = renderer(mode, io, Object.keys(stack.images), process.stderr.isTTY === true && !io.env.CI);
    const hashes = store ? storeHashCache(store) : undefined;
    const records = store && reuse !== "off" ? storeReuseCache(store) : undefined;
    let run: BuildRun;
    try {
      run = await runBuild(stack, flavor, {
        images: targets,
        signal: io.signal,
        env: io.env,
        jobs,
        failFast: o["fail-fast"],
        reuse: records,
        registryReuse: reuse === "registry",
        hashes,
        flavorOrigin: origin,
        events: (e) => view.event(e),
      });
    } finally {
      view.close();
      // Both in one commit (a commit is a few fsyncs).
      const flush = () => {
        try {
          records?.flush?.();
        } catch (e) {
          io.err(`warning: builds not recorded for reuse: ${(e as Error).message}`);
        }
        try {
          hashes?.flush();
        } catch (e) {
          io.err(`warning: file hashes not recorded: ${(e as Error).message}`);
        }
      };
      try {
        store?.batch(flush);
      } catch (e) {
        io.err(`warning: builds and file hashes not recorded: ${(e as Error).message}`);
      }
      store?.close();
    }
    const results = run.order.flatMap((n) => {
      const out = run.outcomes.get(n);
      return out?.state === "done" ? [out.value] : [];
    });
    summary(io, run);
    const selected = targets.length ? targets : run.order;
    for (const name of selected) {
      const r = results.find((x) => x.image === name);
      if (r) io.out(`${r.ref}\n`);
    }
    if (o["metadata-file"] !== undefined) await writeMetadata(resolve(io.cwd, o["metadata-file"]), results);
    if (io.signal.aborted) throw new CancelledError();
    const failed = run.order.filter((n) => run.outcomes.get(n)?.state === "failed");
    const skipped = run.order.filter((n) => run.outcomes.get(n)?.state === "skipped");
    if (failed.length) {
      const tail = skipped.length ? `; ${skipped.length} skipped` : "";
      const message = `${failed.length} of ${run.order.length} images failed: ${failed.join(", ")}${tail}`;
      // Bad input found only at build time (a Dockerfile the flavor cannot read, say) is still bad input: exit 2.
      const inputOnly = failed.every((n) => { const o = run.outcomes.get(n); return o?.state === "failed" && o.error instanceof InputError; });
      throw inputOnly ? new InputError("build.invalid-input", message) : new RuntimeError("build.failed", message);
    }
  },
});

/** The store is optional: without it, nothing is reused and nothing recorded. */
function openStore(io: Io): Store | undefined {
  try {
    return Store.open(io.env, { deferCreate: true });
  } catch (e) {
    io.err(`warning: builds are neither reused nor recorded: ${(e as Error).message}`);
    return undefined;
  }
}

function summary(io: Io, run: BuildRun): void {
  if (io.jsonStderr) return summaryJson(io, run);
  const width = Math.max(5, ...run.order.map((n) => n.length));
  // With builder nodes: which node built (or last tried) each image; split over nodes: each platform's (`arm:linux/arm64,…`).
  const nodeOf = (name: string) => {
    const o = run.outcomes.get(name)!;
    if (o.state !== "done" && o.state !== "failed") return "";
    const placed = o.placements ?? [];
    if (new Set(placed.map((p) => p.node)).size > 1) return placed.map((p) => `${p.node}:${p.platform}`).join(",");
    return placed[0]?.node ?? "";
  };
  const nodeWidth = run.nodes ? Math.max(4, ...run.order.map((n) => nodeOf(n).length)) : 0;
  const nodeCell = (text: string) => (run.nodes ? `${text.padEnd(nodeWidth)}  ` : "");
  io.err("");
  io.err(`${"IMAGE".padEnd(width)}  ${"RESULT".padEnd(9)} ${"TIME".padStart(7)}  ${nodeCell("NODE")}REFERENCE`);
  for (const name of run.order) {
    const o = run.outcomes.get(name)!;
    const result = o.state === "done" ? (o.value.reused ? "reused" : "built") : o.state;
    const time = o.state === "done" ? seconds(o.value.durationMs) : "";
    const ref = o.state === "done" ? o.value.ref : o.state === "skipped" ? `('${o.because}' did not build)` : "";
    io.err(`${name.padEnd(width)}  ${result.padEnd(9)} ${time.padStart(7)}  ${nodeCell(nodeOf(name))}${ref}`);
  }
}

/** `--progress json`: the summary as one object, `images` in build order. */
function summaryJson(io: Io, run: BuildRun): void {
  const images = run.order.map((name) => {
    const o = run.outcomes.get(name)!;
    if (o.state === "done") return { image: name, result: o.value.reused ? "reused" : "built", ref: o.value.ref, durationMs: o.value.durationMs };
    return { image: name, result: o.state, ...(o.state === "skipped" ? { because: o.because } : {}) };
  });
  errJson(io, { type: "summary", images });
}

/** Written atomically (temp file + rename) so a reader never sees half a file. */
async function writeMetadata(path: string, results: ImageResult[]): Promise<void> {
  const doc: Record<string, unknown> = {};
  for (const r of results) {
    doc[r.image] = { ref: r.ref, digest: r.digest ?? null, imageId: r.imageId ?? null, ...(r.platforms ? { platforms: r.platforms } : {}), checksum: r.checksum, reused: r.reused, duration: r.durationMs / 1000, ...(r.node !== undefined ? { node: r.node } : {}), ...(r.nodes ? { nodes: r.nodes } : {}) };
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {}); // no half-written temp file left (on a read-only fs even rm fails)
    const err = writeError(e, "the metadata file", path);
    throw new RuntimeError(isDiskFull(e) ? err.code : "build.metadata-file", err.message, { cause: e, ...(err.hint ? { hint: err.hint } : {}) });
  }
}
