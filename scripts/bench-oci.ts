/**
 * Benchmark (not a test): build + push a COPY-only image of ~200 MB with the `oci` flavor vs
 * `docker build` (BuildKit) + `docker push`, against the test environment (scripts/testenv.sh
 * start). Every run pushes to a fresh repository so each side uploads everything; docker builds
 * with --no-cache. Runs alternate so background load hits both alike; medians are reported.
 *
 *   bun scripts/bench-oci.ts [--runs 3] [--mb 200] [--level 1]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultBuildOptions } from "../src/builder/build_options.ts";
import { BuildContext } from "../src/context/build_context.ts";
import { exec } from "../src/exec.ts";
import oci from "../flavors/oci/flavor.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "3" }, mb: { type: "string", default: "200" }, level: { type: "string", default: "1" } } });
const RUNS = Number(values.runs);
const MB = Number(values.mb);
const REGISTRY = "127.0.0.1:5000";
const DOCKER = ["/usr/bin/docker", "-H", "unix:///run/imgb-test/docker.sock"];

/** Half incompressible, half text-like (compresses ~4x): closer to real images than either alone. */
function makeContext(): string {
  const dir = mkdtempSync(join(tmpdir(), "imgb-bench-oci-"));
  const fileMb = 4;
  const words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu\n".repeat(64);
  for (let i = 0; i < MB / fileMb; i++) {
    const buf = new Uint8Array(fileMb << 20);
    if (i % 2 === 0) for (let o = 0; o < buf.length; o += 1 << 16) randomFillSync(buf, o, 1 << 16);
    else {
      const text = new TextEncoder().encode(words);
      for (let o = 0; o < buf.length; o += text.length) {
        buf.set(text.subarray(0, Math.min(text.length, buf.length - o)), o);
        buf[o] = (o / text.length) & 0xff; // vary lines a little
      }
    }
    writeFileSync(join(dir, `blob-${String(i).padStart(3, "0")}.bin`), buf);
  }
  writeFileSync(join(dir, "Dockerfile"), "FROM scratch\nCOPY . /data/\n");
  return dir;
}

async function ociRun(dir: string, repo: string): Promise<number> {
  const Builder = await oci.implementation();
  const builder = new Builder({ output: "registry", platform: "linux/amd64", insecure_registries: [], compression_level: Number(values.level) } as never, {
    log() {},
    signal: new AbortController().signal,
    report() {},
  });
  const t = performance.now();
  await builder.build(`${repo}:latest`, new BuildContext({ root: dir }), defaultBuildOptions(), { uri: REGISTRY, insecure: true });
  return performance.now() - t;
}

async function dockerRun(dir: string, repo: string): Promise<number> {
  const ref = `${REGISTRY}/${repo}:latest`;
  const t = performance.now();
  await exec([...DOCKER, "build", "--no-cache", "-q", "-t", ref, dir], { env: { DOCKER_BUILDKIT: "1" } });
  await exec([...DOCKER, "push", ref]);
  const ms = performance.now() - t;
  await exec([...DOCKER, "rmi", ref]).catch(() => {});
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = makeContext();
try {
  const times = { oci: [] as number[], docker: [] as number[] };
  const stamp = Date.now().toString(36);
  for (let i = 0; i < RUNS; i++) {
    times.docker.push(await dockerRun(dir, `bench/docker-${stamp}-${i}`));
    times.oci.push(await ociRun(dir, `bench/oci-${stamp}-${i}`));
    console.log(`run ${i + 1}: oci ${(times.oci[i]! / 1000).toFixed(2)} s, docker ${(times.docker[i]! / 1000).toFixed(2)} s`);
  }
  const o = median(times.oci);
  const d = median(times.docker);
  console.log(`\n${MB} MB COPY-only image, build + push, median of ${RUNS} (gzip level ${values.level}):`);
  console.log(`  oci:               ${(o / 1000).toFixed(2)} s`);
  console.log(`  docker (BuildKit): ${(d / 1000).toFixed(2)} s`);
  console.log(`  ratio oci/docker:  ${(o / d).toFixed(2)} (goal <= 0.50)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
