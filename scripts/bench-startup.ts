#!/usr/bin/env bun
/**
 * Startup benchmark: median wall time of `imgb --version` (target: under 15 ms) and of
 * `imgb validate` on an example, over N runs of the compiled binary. Not a test: numbers vary
 * by machine; report them in the issue note.
 *   bun scripts/bench-startup.ts [--runs 50] [--bin dist/imgb]
 */
import { resolve } from "node:path";

const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(n) ? args[args.indexOf(n) + 1]! : d);
const runs = Number(opt("--runs", "50"));
const root = resolve(import.meta.dir, "..");
const bin = resolve(root, opt("--bin", "dist/imgb"));

function time(argv: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const t0 = Bun.nanoseconds();
    const p = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore", cwd: root });
    const ms = (Bun.nanoseconds() - t0) / 1e6;
    if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${p.exitCode}`);
    if (i >= 3) out.push(ms); // warm-up runs dropped
  }
  return out.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const report = (name: string, xs: number[]) =>
  console.log(`${name.padEnd(34)} median ${pct(xs, 0.5).toFixed(1)} ms   p90 ${pct(xs, 0.9).toFixed(1)} ms   min ${xs[0]!.toFixed(1)} ms   (${xs.length} runs)`);

report("imgb --version", time([bin, "--version"]));
report("imgb validate examples/stack", time([bin, "validate", "-f", "examples/stack/imgb.yaml"]));
report("baseline: /bin/true", time(["/bin/true"]));
