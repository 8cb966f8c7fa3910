#!/usr/bin/env bun
/**
 * Reuse across machines (issue #15), against the test dockerd and registry: machine A builds and
 * pushes an 8-image stack (4 FROM a registry base, 4 FROM those); then a fresh "machine" (its own
 * IMGB_HOME, another checkout path, the daemon by another address) runs `imgb build` of the
 * unchanged stack, vs a fully cached `docker build` of the same 8 images on that machine.
 * Goal: imgb at least 20x faster, at most 3 registry requests per image. Every request imgb makes
 * is counted from the registry's access log (`--registry-log`, testenv's by default); the load is
 * printed.
 *
 *   scripts/testenv.sh start && bun run build && bun scripts/bench-reuse.ts [--runs 3] [--jobs N] [--bin dist/imgb]
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { "registry-log": { type: "string", default: "/run/imgb-test/registry.log" }, runs: { type: "string", default: "3" }, jobs: { type: "string", default: "" }, keep: { type: "boolean", default: false }, bin: { type: "string", default: "dist/imgb" }, docker: { type: "string", default: "/usr/bin/docker" } },
});
const repo = resolve(import.meta.dir, "..");
const root = join(repo, "test/.tmp/bench-reuse");
const imgb = resolve(repo, values.bin!);
const docker = values.docker!;
const upstream = "127.0.0.1:5000";

// Every request imgb makes is counted from the registry's own access log (testenv's registry
// logs one line per request): no proxy in the path of the timed runs. (A counting proxy in this
// process cost more than it measured for itself: a fresh process's new connections and streamed
// bodies, ~30 ms of a ~70 ms run.)
const registryLog = values["registry-log"]!;
if (!existsSync(registryLog)) throw new Error(`${registryLog} does not exist: start the test registry (scripts/testenv.sh start) or pass --registry-log`);
const logOffset = () => statSync(registryLog).size;
async function requestsSince(offset: number): Promise<string[]> {
  await Bun.sleep(100); // the registry writes a request's line just after its response
  const text = readFileSync(registryLog).subarray(offset).toString("utf8");
  return [...text.matchAll(/^\S+ - \S+ \[[^\]]+\] "(\w+) (\S+) HTTP/gm)].map((m) => `${m[1]} ${m[2]}`);
}
const registry = upstream;
const ns = `bench-reuse-${Date.now().toString(36)}`;
const base = `${registry}/${ns}/busybox:1`;

// Async: this process keeps timing while the child runs.
async function run(argv: string[], cwd: string, env: Record<string, string> = {}): Promise<number> {
  const t0 = performance.now();
  const p = Bun.spawn(argv, { cwd, env: { ...process.env, NO_COLOR: "1", ...env } as Record<string, string>, stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed:\n${err.slice(-2000)}`);
  return (performance.now() - t0) / 1000;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

rmSync(root, { recursive: true, force: true });
const a = join(root, "machine-a/checkout");
mkdirSync(a, { recursive: true });
await run([docker, "-H", "unix:///run/imgb-test/docker.sock", "tag", "imgb-test/busybox:latest", base], a);
await run([docker, "-H", "unix:///run/imgb-test/docker.sock", "push", base], a);

const images: string[] = [];
for (let i = 0; i < 4; i++) {
  writeFileSync(join(mkdir(a, `root${i}`), "Dockerfile"), `FROM ${base}\nCOPY f.txt /f.txt\nRUN cat /f.txt > /copy\n`);
  writeFileSync(join(a, `root${i}`, "f.txt"), `root ${i}\n`);
  writeFileSync(join(mkdir(a, `leaf${i}`), "Dockerfile"), "ARG BASE\nFROM $BASE\nCOPY f.txt /leaf.txt\nRUN cat /leaf.txt >> /copy\n");
  writeFileSync(join(a, `leaf${i}`, "f.txt"), `leaf ${i}\n`);
  images.push(`  root${i}: { context: root${i}, network: none }`, `  leaf${i}: { context: leaf${i}, network: none, build_args: { BASE: "\${images.root${i}.ref}" } }`);
}
const stack = (host: string) => `image_builder: { flavor: docker, config: { binary: ${docker}, host: "${host}" } }\ncontainer_registry: { uri: ${registry}/${ns} }\nimages:\n${images.join("\n")}\n`;
writeFileSync(join(a, "imgb.yaml"), stack("unix:///run/imgb-test/docker.sock"));

function mkdir(...p: string[]): string {
  const d = join(...p);
  mkdirSync(d, { recursive: true });
  return d;
}

const meta = join(root, "a.json");
console.log(`machine A: imgb build of 8 images, pushed: ${(await run([imgb, "build", "--progress", "plain", "--metadata-file", meta], a, { IMGB_HOME: join(root, "machine-a/home") })).toFixed(2)} s`);
const built = JSON.parse(readFileSync(meta, "utf8")) as Record<string, { ref: string }>;

// The fully cached docker build of the same 8 images (the cache warm from machine A's builds).
const dockerBuild = async () => {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    s += await run([docker, "-H", "unix:///run/imgb-test/docker.sock", "build", "-q", "--network=none", "-t", `${ns}/root${i}-docker`, `root${i}`], a, { DOCKER_BUILDKIT: "1" });
    s += await run([docker, "-H", "unix:///run/imgb-test/docker.sock", "build", "-q", "--network=none", "--build-arg", `BASE=${built[`root${i}`]!.ref}`, "-t", `${ns}/leaf${i}-docker`, `leaf${i}`], a, { DOCKER_BUILDKIT: "1" });
  }
  return s;
};
await dockerBuild(); // warm

const fresh: number[] = [];
const cached: number[] = [];
const counts: number[] = [];
let lastRequests: string[] = [];
for (let r = 0; r < Number(values.runs); r++) {
  const b = join(root, `machine-b${r}/elsewhere/checkout`);
  cpSync(a, b, { recursive: true });
  writeFileSync(join(b, "imgb.yaml"), stack("tcp://127.0.0.1:2375"));
  const bMeta = join(root, `b${r}.json`);
  const offset = logOffset();
  fresh.push(await run([imgb, "build", "--progress", "plain", "--metadata-file", bMeta, ...(values.jobs ? ["--jobs", values.jobs] : [])], b, { IMGB_HOME: join(root, `machine-b${r}/home`) }));
  const requests = await requestsSince(offset);
  counts.push(requests.length);
  lastRequests = requests;
  const m = JSON.parse(readFileSync(bMeta, "utf8")) as Record<string, { reused: boolean }>;
  const notReused = Object.entries(m).filter(([, v]) => !v.reused).map(([k]) => k);
  if (notReused.length > 0) throw new Error(`fresh machine rebuilt ${notReused.join(", ")}: not a reuse benchmark`);
  cached.push(await dockerBuild());
}
const f = median(fresh);
const c = median(cached);
console.log(`fresh machine imgb build (8 reused): ${f.toFixed(2)} s (median of ${fresh.length})`);
console.log(`fully cached docker build x8:       ${c.toFixed(2)} s (median of ${cached.length})`);
console.log(`speed-up: ${(c / f).toFixed(1)}x (goal >= 20x); per run: ${fresh.map((x, i) => `${(cached[i]! / x).toFixed(1)}x`).join(" ")}`);
console.log(`registry requests: ${median(counts)} for 8 images = ${(median(counts) / 8).toFixed(2)} per image (goal <= 3)`);
const byKind = new Map<string, number>();
for (const q of lastRequests) {
  const kind = q.replace(/\/v2\/.*\/(manifests|blobs|tags)\/.*/, "/v2/…/$1/…");
  byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
}
for (const [k, n] of byKind) console.log(`  ${String(n).padStart(3)}  ${k}`);
console.log(`load average: ${loadavg().map((l) => l.toFixed(2)).join(", ")}`);
if (!values.keep) {
  rmSync(root, { recursive: true, force: true });
  // The images this run left in the shared daemon (the registry keeps its tags: no deletion there).
  const names = [base, ...[0, 1, 2, 3].flatMap((i) => [`${ns}/root${i}-docker`, `${ns}/leaf${i}-docker`, `${registry}/${ns}/root${i}:latest`, `${registry}/${ns}/leaf${i}:latest`])];
  Bun.spawnSync([docker, "-H", "unix:///run/imgb-test/docker.sock", "rmi", ...names], { stdout: "ignore", stderr: "ignore" });
}
