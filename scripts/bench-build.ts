/**
 * Overhead of `imgb build` against the raw engine command, on the same context (docker,
 * BuildKit): runs each alternately, N times, and reports median wall times and ratios (goal:
 * within 3%). Two raw baselines:
 *   - `tar … | docker build -`: the same engine path imgb takes (a deterministic tar on stdin);
 *     the ratio against it is imgb's own overhead.
 *   - `docker build DIR`: what a user types. Not the same work: BuildKit syncs a directory
 *     incrementally (unchanged files are not sent again) and skips unpacking a tar, but it
 *     also sends real mtimes, so its images are not reproducible. Shown for reference.
 *
 *   eval "$(scripts/testenv.sh env)"
 *   bun scripts/bench-build.ts [--runs 7] [--files 2000] [--file-kib 32] [--binary /usr/bin/docker]
 *
 * Both sides build with --no-cache so that every run does the same work (context transfer,
 * COPY, RUN, export). The raw side is what a user would type: `docker build DIR`.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "7" },
    files: { type: "string", default: "2000" },
    "file-kib": { type: "string", default: "32" },
    binary: { type: "string", default: "/usr/bin/docker" },
    imgb: { type: "string", description: "imgb command (default: bun src/main.ts)" },
  },
});
const runs = Number(values.runs);
const host = process.env.DOCKER_HOST ?? "unix:///run/imgb-test/docker.sock";
const root = resolve(import.meta.dir, ".bench");
const ctx = join(root, "context");

function makeContext(): void {
  rmSync(root, { recursive: true, force: true });
  const kib = Number(values["file-kib"]);
  for (let i = 0; i < Number(values.files); i++) {
    const dir = join(ctx, `d${i % 40}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `f${i}.bin`), crypto.getRandomValues(new Uint8Array(kib * 1024)));
  }
  writeFileSync(join(ctx, "Dockerfile"), "FROM imgb-test/busybox:latest\nCOPY . /ctx\nRUN find /ctx -type f | wc -l\n");
  writeFileSync(join(ctx, ".dockerignore"), "*.tmp\n");
  writeFileSync(
    join(root, "imgb.yaml"),
    `image_builder:\n  flavor: docker\n  config: { binary: ${values.binary}, host: "${host}", builder: buildkit }\nimages:\n  bench-imgb:\n    context: context\n    network: none\n    no_cache: true\n`,
  );
}

async function timed(argv: string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const p = Bun.spawn(argv, { cwd: root, env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
  const [code, stderr] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${argv.join(" ")} failed (${code}):\n${stderr.split("\n").slice(-10).join("\n")}`);
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

makeContext();
const imgb = values.imgb?.split(" ") ?? ["bun", resolve(import.meta.dir, "../src/main.ts")];
const raw = [values.binary, "build", "--no-cache", "--network=none", "--progress=plain", "-t", "bench-raw:latest", ctx];
// GNU tar with the same determinism imgb applies (sorted, owner 0:0, mtime 0), into the same command.
const tarred = ["sh", "-c", `tar -C '${ctx}' --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -c . | '${values.binary}' build --no-cache --network=none --progress=plain -t bench-tar:latest -`];
const env = { DOCKER_HOST: host, DOCKER_BUILDKIT: "1" };
// One warm-up each: base image layers, BuildKit's state, the page cache.
const commands = { "tar | docker build -": tarred, "docker build DIR": raw, "imgb build": [...imgb, "build", "--no-reuse", "--progress", "plain", "-f", "imgb.yaml"] };
for (const argv of Object.values(commands)) await timed(argv, env);
const times: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
for (let i = 0; i < runs; i++) for (const [name, argv] of Object.entries(commands)) times[name]!.push(await timed(argv, env));
const m = median(times["imgb build"]!);
console.log(`context: ${values.files} files x ${values["file-kib"]} KiB; ${runs} runs each, --no-cache; medians`);
for (const [name, xs] of Object.entries(times)) {
  const med = median(xs);
  const ratio = name === "imgb build" ? "" : `  imgb/this = ${(m / med).toFixed(3)}`;
  console.log(`${name.padEnd(22)} ${(med / 1000).toFixed(3)} s  (${xs.map((t) => (t / 1000).toFixed(2)).join(" ")})${ratio}`);
}
rmSync(root, { recursive: true, force: true });
