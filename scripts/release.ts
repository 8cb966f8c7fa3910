#!/usr/bin/env bun
/**
 * Release binaries: `bun run release` cross-compiles imgb for every supported target into
 * dist/release/ (imgb-<target>), copies install.sh beside them, writes imgb.d.ts (the SDK's
 * declarations for flavor authors, the same text every binary prints with `imgb flavor types`),
 * writes SHA256SUMS over all of them (the `sha256sum -c` format) and prints each binary's size. The version comes from package.json and the commit from git (with
 * "-dirty" for a modified tree); both are baked in, so `imgb version [--json]` reports them.
 *
 *   bun scripts/release.ts                                  all targets
 *   bun scripts/release.ts --target linux-x64,linux-arm64   a subset
 *   bun scripts/release.ts --outdir /tmp/rel                elsewhere
 *
 * Not stripped: `strip` (even --strip-debug) leaves the file ~50 KB smaller but turns it back
 * into plain `bun` ("Script not found"), because the embedded program is found through the
 * ELF section layout that strip rewrites. No sourcemap either (it adds ~0.5 MB and a .map file).
 * .env and bunfig.toml autoloading are off: the binary must behave the same in any directory.
 */
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { sdkDeclarations } from "./sdk_dts.ts";
import { STARTUP_JIT_POLICY } from "../src/jit_policy.ts";
import { ENTRY_POINTS } from "../src/entry_points.ts";

export const TARGETS = ["linux-x64", "linux-x64-musl", "linux-arm64", "linux-arm64-musl", "darwin-x64", "darwin-arm64"] as const;
export type Target = (typeof TARGETS)[number];

const root = resolve(import.meta.dir, "..");

function fail(message: string): never {
  process.stderr.write(`release: error: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): { targets: Target[]; outdir: string } {
  let targets: Target[] = [...TARGETS];
  let outdir = join(root, "dist", "release");
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--target") {
      const names = value().split(",").filter(Boolean);
      const unknown = names.filter((n) => !(TARGETS as readonly string[]).includes(n));
      if (unknown.length) fail(`Unknown target '${unknown[0]}': expected one of ${TARGETS.join(", ")}`);
      targets = names as Target[];
    } else if (flag === "--outdir") {
      outdir = resolve(value());
    } else if (flag === "--help" || flag === "-h") {
      process.stdout.write("usage: bun scripts/release.ts [--target T[,T…]] [--outdir DIR]\n");
      process.exit(0);
    } else {
      fail(`Unknown option '${flag}'`);
    }
  }
  return { targets, outdir };
}

function gitCommit(): string {
  const rev = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: root, stderr: "ignore" });
  if (rev.exitCode !== 0) return "unknown";
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--untracked-files=no"], { cwd: root, stderr: "ignore" });
  return rev.stdout.toString().trim() + (dirty.stdout.toString().trim() ? "-dirty" : "");
}

async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

function compile(target: Target, outfile: string, commit: string): void {
  const argv = [
    process.execPath, "build", "--compile", "--minify", "--bytecode", "--format=esm", "--splitting",
    `--compile-jit-policy=${STARTUP_JIT_POLICY}`, // as scripts/build.ts (src/jit_policy.ts)
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    `--target=bun-${target}`,
    "--define", `IMGB_VERSION=${JSON.stringify(pkg.version)}`,
    "--define", `IMGB_COMMIT=${JSON.stringify(commit)}`,
    ...ENTRY_POINTS, "--outfile", outfile,
  ];
  const p = Bun.spawnSync(argv, { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) {
    process.stderr.write(p.stdout.toString() + p.stderr.toString());
    process.stderr.write(`release: error: bun build for ${target} exited with ${p.exitCode}: ${argv.join(" ")}\n`);
    process.exit(1);
  }
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const { targets, outdir } = parseArgs(process.argv.slice(2));
  const commit = gitCommit();
  mkdirSync(outdir, { recursive: true });
  rmSync(join(outdir, "SHA256SUMS"), { force: true });
  process.stderr.write(`release: imgb ${pkg.version} (${commit}) -> ${outdir}\n`);
  const sums: string[] = [];
  for (const target of targets) {
    const file = join(outdir, `imgb-${target}`);
    compile(target, file, commit);
    const size = statSync(file).size;
    sums.push(`${await sha256(file)}  ${basename(file)}\n`);
    process.stderr.write(`  ${basename(file).padEnd(24)} ${mib(size).padStart(10)}  (${size} bytes)\n`);
  }
  // The installer travels with the binaries: `curl -fsSLO …/install.sh && sh install.sh`.
  copyFileSync(join(root, "install.sh"), join(outdir, "install.sh"));
  sums.push(`${await sha256(join(outdir, "install.sh"))}  install.sh\n`);
  // Flavor authors' types, for those who fetch them beside the binary (`imgb flavor init` writes them too).
  await Bun.write(join(outdir, "imgb.d.ts"), sdkDeclarations());
  sums.push(`${await sha256(join(outdir, "imgb.d.ts"))}  imgb.d.ts\n`);
  await Bun.write(join(outdir, "SHA256SUMS"), sums.join(""));
  process.stderr.write(`release: wrote ${targets.length} binaries, install.sh, imgb.d.ts and SHA256SUMS\n`);
}

if (import.meta.main) await main();
