#!/usr/bin/env bun
/**
 * Multi-image benchmarks for `imgb build` (issue "multi-image stacks"), against the test dockerd:
 *
 * 1. No-op rebuild of an image whose context is 1 GB: `imgb build` with nothing changed (reuse:
 *    stat cache + verified record, no engine call) vs a fully cached `docker build DIR` of the
 *    same context. Goal: imgb at least 20x faster.
 * 2. 8 independent images (each `RUN sleep 2`, --no-cache, --no-reuse): `--jobs 4` vs
 *    `--jobs 1`. Goal: at most 0.4x the time.
 *
 *   scripts/testenv.sh start && bun scripts/bench-stack.ts [--runs 5] [--gib 1] [--bin dist/imgb]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    gib: { type: "string", default: "1" },
    bin: { type: "string", default: "dist/imgb" },
    docker: { type: "string", default: "/usr/bin/docker" },
  },
});
const repo = resolve(import.meta.dir, "..");
const root = join(repo, "test/.tmp/bench-stack");
const host = "unix:///run/imgb-test/docker.sock";
const imgb = resolve(repo, values.bin!);
const env = { ...process.env, IMGB_HOME: join(root, "home"), DOCKER_HOST: host, NO_COLOR: "1" } as Record<string, string>;

function run(argv: string[], cwd: string): number {
  const t0 = performance.now();
  const p = Bun.spawnSync(argv, { cwd, env, stdout: "ignore", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed:\n${p.stderr.toString().slice(-2000)}`);
  return (performance.now() - t0) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// 1. No-op rebuild of a 1 GB context.
const big = join(root, "big");
rmSync(root, { recursive: true, force: true });
mkdirSync(join(big, "data"), { recursive: true });
const chunk = new Uint8Array(64 << 20);
for (let i = 0; i < chunk.length; i += 4096) chunk[i] = (i >> 12) & 0xff;
const files = Math.round((Number(values.gib) * 1024) / 64);
for (let i = 0; i < files; i++) {
  chunk[0] = i;
  writeFileSync(join(big, "data", `blob${i}.bin`), chunk);
}
writeFileSync(join(big, "Dockerfile"), "FROM imgb-test/busybox:latest\nCOPY data/ /data/\n");
writeFileSync(join(big, "imgb.yaml"), `image_builder: { flavor: docker, config: { binary: ${values.docker}, host: "${host}" } }\nimages:\n  bench/big: { context: ., network: none }\n`);
console.log(`1 GB context: ${files} x 64 MiB files`);
console.log(`  first imgb build:            ${run([imgb, "build", "--progress", "plain"], big).toFixed(2)} s`);
console.log(`  first docker build DIR:      ${run([values.docker!, "build", "-q", "--network=none", "-t", "bench/big-docker", "."], big).toFixed(2)} s`);
const noop: number[] = [];
const cached: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  noop.push(run([imgb, "build", "--progress", "plain"], big));
  cached.push(run([values.docker!, "build", "-q", "--network=none", "-t", "bench/big-docker", "."], big));
}
console.log(`  no-op imgb build (median):   ${median(noop).toFixed(3)} s`);
console.log(`  cached docker build (median):${median(cached).toFixed(3)} s`);
console.log(`  ratio: imgb is ${(median(cached) / median(noop)).toFixed(1)}x faster (goal >= 20x)`);

// 2. Eight independent images, --jobs 4 vs --jobs 1.
const eight = join(root, "eight");
mkdirSync(eight, { recursive: true });
writeFileSync(join(eight, "Dockerfile"), "FROM imgb-test/busybox:latest\nARG N\nRUN sleep 2 && echo $N > /n\n");
const images = Array.from({ length: 8 }, (_, i) => `  bench/i${i}: { context: ., network: none, no_cache: true, build_args: { N: "${i}" } }`).join("\n");
writeFileSync(join(eight, "imgb.yaml"), `image_builder: { flavor: docker, config: { binary: ${values.docker}, host: "${host}" } }\nimages:\n${images}\n`);
const j1: number[] = [];
const j4: number[] = [];
for (let i = 0; i < Math.min(3, Number(values.runs)); i++) {
  j1.push(run([imgb, "build", "--no-reuse", "--jobs", "1", "--progress", "plain"], eight));
  j4.push(run([imgb, "build", "--no-reuse", "--jobs", "4", "--progress", "plain"], eight));
}
console.log(`8 independent images (RUN sleep 2, no cache)`);
console.log(`  --jobs 1 (median): ${median(j1).toFixed(2)} s`);
console.log(`  --jobs 4 (median): ${median(j4).toFixed(2)} s`);
console.log(`  ratio: ${(median(j4) / median(j1)).toFixed(2)} (goal <= 0.4)`);
rmSync(join(root, "big", "data"), { recursive: true, force: true });
