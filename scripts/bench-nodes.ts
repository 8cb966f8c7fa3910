#!/usr/bin/env bun
/**
 * Builder nodes benchmark (issue #16), against the test environment's two dockerds: 8
 * independent images (each `RUN sleep 2`, no cache, no reuse, pushed to the registry) built on
 * one node vs spread over two nodes, with the same `--jobs` per node. Runs are interleaved
 * (1 node, 2 nodes, 1 node, …) so that drift of the machine hits both alike; medians and their
 * ratio are printed. Goal: 2 nodes take at most 0.6x the time of 1.
 *
 *   scripts/testenv.sh start && bun run build && bun scripts/bench-nodes.ts [--runs 5] [--jobs 1] [--bin dist/imgb]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    jobs: { type: "string", default: "1" },
    bin: { type: "string", default: "dist/imgb" },
    docker: { type: "string", default: "/usr/bin/docker" },
  },
});
const repo = resolve(import.meta.dir, "..");
const root = join(repo, "test/.tmp/bench-nodes");
const one = "unix:///run/imgb-test/docker.sock";
const two = "tcp://127.0.0.1:2376";
const registry = "127.0.0.1:5000";
const imgb = resolve(repo, values.bin!);
const env = { ...process.env, IMGB_HOME: join(root, "home"), NO_COLOR: "1" } as Record<string, string>;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function run(argv: string[], cwd: string): number {
  const t0 = performance.now();
  const p = Bun.spawnSync(argv, { cwd, env, stdout: "ignore", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} failed:\n${p.stderr.toString().slice(-2000)}`);
  return (performance.now() - t0) / 1000;
}

rmSync(root, { recursive: true, force: true });
const names = Array.from({ length: 8 }, (_, i) => `imgb-bench/nodes-i${i}`);
const images = names.map((n, i) => `  ${n}: { context: ., network: none, no_cache: true, build_args: { N: "${i}" } }`).join("\n");
const stacks = {
  "1 node": `image_builder: { flavor: docker, config: { binary: ${values.docker}, host: "${one}" } }`,
  "2 nodes": `image_builder:\n  flavor: docker\n  config:\n    binary: ${values.docker}\n    nodes: [ { name: one, host: "${one}" }, { name: two, host: "${two}" } ]`,
};
const dirs: Record<string, string> = {};
for (const [label, builder] of Object.entries(stacks)) {
  const dir = join(root, label.replace(" ", "-"));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), "FROM imgb-test/busybox:latest\nARG N\nRUN sleep 2 && echo $N > /n\n");
  writeFileSync(join(dir, "imgb.yaml"), `${builder}\ncontainer_registry: { uri: ${registry} }\nimages:\n${images}\n`);
  dirs[label] = dir;
}
const argv = [imgb, "build", "--no-reuse", "--jobs", values.jobs!, "--progress", "plain"];
const times: Record<string, number[]> = { "1 node": [], "2 nodes": [] };
run(argv, dirs["2 nodes"]!); // warm-up: both daemons have the base layers, the registry the blobs
for (let i = 0; i < Number(values.runs); i++) {
  for (const label of Object.keys(stacks)) times[label]!.push(run(argv, dirs[label]!));
}
console.log(`8 independent images (RUN sleep 2, no cache, pushed), --jobs ${values.jobs} per node, ${values.runs} interleaved runs`);
for (const [label, xs] of Object.entries(times)) console.log(`  ${label.padEnd(8)} median ${median(xs).toFixed(2)} s  (${xs.map((x) => x.toFixed(2)).join(", ")})`);
console.log(`  ratio 2 nodes / 1 node: ${(median(times["2 nodes"]!) / median(times["1 node"]!)).toFixed(2)} (goal <= 0.6)`);

// What the runs left: the images in both daemons (the registry keeps its blobs, as for every bench).
for (const host of [one, two]) {
  const listed = Bun.spawnSync([values.docker!, "-H", host, "images", "--no-trunc", "--format", "{{.Repository}} {{.ID}}"], { stdout: "pipe" }).stdout.toString().split("\n");
  const mine = [...new Set(listed.filter((l) => l.startsWith(`${registry}/imgb-bench/nodes-i`)).map((l) => l.split(" ")[1]!))];
  if (mine.length) Bun.spawnSync([values.docker!, "-H", host, "rmi", "-f", ...mine], { stdout: "ignore", stderr: "ignore" });
}
rmSync(root, { recursive: true, force: true });
