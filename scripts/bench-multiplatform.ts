#!/usr/bin/env bun
/**
 * Multi-platform builds (issue #14), against the test environment: `imgb build` of one image
 * for linux/amd64 + linux/arm64 (one index pushed) vs the two single-platform builds of the same
 * image run one after the other (`platforms: [linux/amd64]`, then `[linux/arm64]`), same flavor,
 * same stack otherwise. Interleaved pairs (the order inside a pair alternates) after one untimed
 * warm-up pair; every build is `no_cache: true`, so each one really builds and pushes. Reported:
 * medians, spread, and the ratio two-platform / (amd64 + arm64). Goal: <= 0.7x.
 *
 * The flavor only changes the stack file's `image_builder` (and, for oci, a Dockerfile without
 * RUN): the script works for every flavor that builds several platforms.
 *
 *   scripts/testenv.sh start && bun run build
 *   bun scripts/bench-multiplatform.ts [--flavor docker|podman|buildah|oci] [--runs 5] [--work N] [--cross] [--builder buildkit|classic] [--bin dist/imgb]
 *
 * --work N: iterations of a shell loop in the RUN step (0: none; under qemu an arm64 loop runs
 * about 8x slower than amd64 on this machine, so heavy work makes the pair's time the arm64 time:
 * the ratio then tends to arm64 / (amd64 + arm64), ~0.9, whatever runs in parallel).
 * --cross: the work runs where multi-platform Dockerfiles usually put it, in a stage `FROM
 * --platform=$BUILDPLATFORM` that builds for `$TARGETARCH` natively (BuildKit's cross-compilation
 * pattern), and the target stage copies its output and runs only `uname -m`: both platforms then
 * do the same native work (not for oci, which runs no RUN).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    flavor: { type: "string", default: "docker" },
    runs: { type: "string", default: "5" },
    work: { type: "string", default: "0" },
    cross: { type: "boolean", default: false },
    builder: { type: "string", default: "buildkit" },
    bin: { type: "string", default: "dist/imgb" },
    docker: { type: "string", default: "/usr/bin/docker" },
    keep: { type: "boolean", default: false },
  },
});
const FLAVORS = ["docker", "podman", "buildah", "oci"];
const flavor = values.flavor!;
if (!FLAVORS.includes(flavor)) throw new Error(`--flavor must be one of ${FLAVORS.join(", ")}, not ${JSON.stringify(flavor)}`);
const runs = Number(values.runs);
const work = Number(values.work);
const repo = resolve(import.meta.dir, "..");
const imgb = resolve(repo, values.bin!);
const root = join(repo, "test/.tmp/bench-multiplatform");
const REGISTRY = "127.0.0.1:5000";
const BASE = `${REGISTRY}/imgb-test/busybox-multi:latest`;
const ns = `bench-mp-${Date.now().toString(36)}`;

/** The only flavor-specific part of the stack. */
function imageBuilder(): string {
  switch (flavor) {
    case "docker":
      return `{ flavor: docker, config: { binary: ${values.docker}, host: "unix:///run/imgb-test/docker.sock", builder: ${values.builder} } }`;
    case "oci":
      return "{ flavor: oci }";
    default:
      return `{ flavor: ${flavor} }`;
  }
}

/** A context of a few files; RUN steps (not for oci, which runs none) that print the platform and do `--work` iterations. */
function writeContext(dir: string): void {
  mkdirSync(join(dir, "ctx/data"), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, "ctx/data", `f${i}.txt`), `file ${i}\n`.repeat(2000));
  const loop = `i=0 && while [ $i -lt ${work} ]; do i=$((i+1)); done && echo $i`;
  if (values.cross) {
    if (flavor === "oci") throw new Error("--cross needs RUN steps: not for the oci flavor");
    const build = `FROM --platform=$BUILDPLATFORM ${BASE} AS build\nARG TARGETARCH\nRUN ${loop} > /work && echo $TARGETARCH >> /work\n`;
    writeFileSync(join(dir, "ctx/Dockerfile"), `${build}FROM ${BASE}\nCOPY data /data\nCOPY --from=build /work /work\nRUN uname -m > /arch\n`);
    return;
  }
  const run = flavor === "oci" ? "" : `RUN uname -m > /arch${work > 0 ? ` && ${loop} > /work` : ""}\n`;
  writeFileSync(join(dir, "ctx/Dockerfile"), `FROM ${BASE}\nCOPY data /data\n${run}`);
}

function writeStack(dir: string, platforms: string[]): void {
  writeFileSync(
    join(dir, "imgb.yaml"),
    `image_builder: ${imageBuilder()}\ncontainer_registry: { uri: ${REGISTRY}/${ns} }\nimages:\n  app: { context: ctx, network: none, no_cache: true, platforms: [${platforms.join(", ")}], labels: { dev.imgb.bench: ${ns} } }\n`,
  );
}

async function build(dir: string): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn([imgb, "build", "--progress", "plain"], { cwd: dir, env: { ...process.env, NO_COLOR: "1", IMGB_HOME: join(dir, "home") } as Record<string, string>, stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`imgb build in ${dir} failed (${code}):\n${err.slice(-3000)}`);
  return (performance.now() - t0) / 1000;
}

rmSync(root, { recursive: true, force: true });
const dirs = { both: join(root, "both"), amd64: join(root, "amd64"), arm64: join(root, "arm64") };
for (const d of Object.values(dirs)) {
  mkdirSync(join(d, "home"), { recursive: true });
  writeContext(d);
}
writeStack(dirs.both, ["linux/amd64", "linux/arm64"]);
writeStack(dirs.amd64, ["linux/amd64"]);
writeStack(dirs.arm64, ["linux/arm64"]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;
const pair = async () => ({ amd64: await build(dirs.amd64), arm64: await build(dirs.arm64) });

try {
  console.log(`flavor ${flavor}${flavor === "docker" ? ` (${values.builder})` : ""}, ${runs} interleaved pairs, work ${work}${values.cross ? " (cross: in a $BUILDPLATFORM stage)" : ""}, load ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`);
  await build(dirs.both); // warm-up: base pulled, daemon caches warm
  await pair();
  const both: number[] = [];
  const singles: number[] = [];
  const arms: number[] = [];
  for (let i = 0; i < runs; i++) {
    let b: number;
    let s: { amd64: number; arm64: number };
    if (i % 2 === 0) {
      b = await build(dirs.both);
      s = await pair();
    } else {
      s = await pair();
      b = await build(dirs.both);
    }
    both.push(b);
    singles.push(s.amd64 + s.arm64);
    arms.push(s.arm64);
    console.log(`  run ${i + 1}: two-platform ${b.toFixed(2)} s, amd64 ${s.amd64.toFixed(2)} s + arm64 ${s.arm64.toFixed(2)} s = ${(s.amd64 + s.arm64).toFixed(2)} s`);
  }
  console.log(`two-platform build:           ${median(both).toFixed(2)} s (${spread(both)})`);
  console.log(`amd64 then arm64, one by one: ${median(singles).toFixed(2)} s (${spread(singles)}), arm64 alone ${median(arms).toFixed(2)} s`);
  console.log(`ratio (medians):              ${(median(both) / median(singles)).toFixed(2)}x   (goal <= 0.70x)`);
  console.log(`load after: ${(await Bun.file("/proc/loadavg").text()).split(" ").slice(0, 3).join(" ")}`);
} finally {
  // Every build (no_cache) leaves new images in the engine's store, the podman/buildah
  // platforms untagged: all of them carry this run's label, and go (the store is shared).
  const quiet = { stdout: "ignore", stderr: "ignore" } as const;
  const local = `${REGISTRY}/${ns}/app:latest`;
  const cli = flavor === "docker" ? [values.docker!, "-H", "unix:///run/imgb-test/docker.sock"] : flavor === "oci" ? undefined : ["podman"];
  if (cli) {
    if (flavor !== "docker") await Bun.spawn([...cli, "manifest", "rm", local], quiet).exited;
    const listed = Bun.spawn([...cli, "images", "-q", "--no-trunc", "--filter", `label=dev.imgb.bench=${ns}`], { stdout: "pipe", stderr: "ignore" });
    const ids = [...new Set((await new Response(listed.stdout).text()).split("\n").filter(Boolean))];
    if (ids.length > 0) await Bun.spawn([...cli, "rmi", "--force", ...ids], quiet).exited;
  }
  if (!values.keep) rmSync(root, { recursive: true, force: true });
}
