#!/usr/bin/env bun
/**
 * Compiles the standalone binary: `bun run build` -> dist/imgb. The version comes from
 * package.json and the commit from git (or "unknown" outside a checkout); both are baked in. So
 * is imgb.d.ts, the SDK's declarations for flavor authors: a Bun macro (src/plugins/sdk_declarations.ts
 * -> scripts/sdk_dts.ts) generates it while bundling; `bun scripts/sdk_dts.ts` writes it to dist/.
 * Usage: bun scripts/build.ts [--target bun-linux-x64-musl] [--outfile dist/imgb-linux-x64-musl]
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { STARTUP_JIT_POLICY } from "../src/jit_policy.ts";
import { ENTRY_POINTS } from "../src/entry_points.ts";

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const target = opt("--target");
const outfile = opt("--outfile") ?? "dist/imgb";

const git = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { stderr: "ignore" });
const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { stderr: "ignore" });
let commit = git.exitCode === 0 ? git.stdout.toString().trim() : "unknown";
if (commit !== "unknown" && dirty.stdout.toString().trim() !== "") commit += "-dirty";

const argv = [
  process.execPath, "build", "--compile", "--minify", "--sourcemap", "--bytecode", "--format=esm", "--splitting",
  // Run-once startup code stays in the interpreter longer (src/jit_policy.ts).
  `--compile-jit-policy=${STARTUP_JIT_POLICY}`,
  // The binary must not pick up a .env or bunfig.toml from wherever it happens to run.
  "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
  ...(target ? [`--target=${target}`] : []),
  `--define`, `IMGB_VERSION=${JSON.stringify(pkg.version)}`,
  `--define`, `IMGB_COMMIT=${JSON.stringify(commit)}`,
  ...ENTRY_POINTS, "--outfile",
];
// The source maps are embedded in the binary (stack traces under --debug name src/ lines); bun
// also writes each chunk's map beside the output, with new names on every build. Built in a
// private directory next to the output, only the binary is moved into place.
const repo = resolve(import.meta.dir, "..");
const output = resolve(repo, outfile);
mkdirSync(dirname(output), { recursive: true });
const scratch = mkdtempSync(join(dirname(output), `.${basename(output)}-build-`));
let code = 1;
try {
  const proc = Bun.spawnSync([...argv, join(scratch, basename(output))], { stdout: "inherit", stderr: "inherit", cwd: repo });
  code = proc.exitCode ?? 1;
  if (code === 0) renameSync(join(scratch, basename(output)), output);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
process.exit(code);
