#!/usr/bin/env bun
/**
 * Build-context benchmark (not a test: numbers depend on the machine). Generates two fixtures
 * once under the gitignored test/.tmp/bench-context/ (not scripts/.bench/: bench-build.ts
 * wipes that directory), then times, side by side, with a warm page cache:
 *
 *   imgb CLI        `imgb context DIR -o /dev/null` (dist/imgb, else `bun src/main.ts`)
 *   imgb CLI pipe   `imgb context DIR -o - | cat > /dev/null`
 *   imgb library    BuildContext.writeArchive("/dev/null") in a bare runner (no CLI startup)
 *   GNU tar         `tar -cf - -C DIR . | cat > /dev/null` (GNU tar skips reading file data
 *                   when the archive is /dev/null, so it must write to a pipe to be fair)
 *   Python tarfile  `tarfile.open("/dev/null", "w").add(DIR)` (no such shortcut in Python)
 *
 * Wall time is the median of --runs runs; peak RSS is GNU time's %M.
 *   bun scripts/bench-context.ts [--runs 3] [--only small|large] [--bin path/to/imgb]
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const benchDir = join(root, "test/.tmp/bench-context");
const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(n) ? args[args.indexOf(n) + 1]! : d);

if (args[0] === "--run") {
  // The bare library runner: what a flavor pays, without CLI startup.
  const { BuildContext } = await import("../src/context/build_context.ts");
  await new BuildContext({ root: args[1]! }).writeArchive(args[2] ?? "/dev/null");
  process.exit(0);
}

const runs = Number(opt("--runs", "3"));
const only = opt("--only", "");

/** Deterministic pseudo-random bytes (xorshift), so fixtures are the same everywhere. */
function noise(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  const view = new Uint32Array(out.buffer, 0, size >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < view.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    view[i] = x >>> 0;
  }
  return out;
}

function makeSmall(dir: string): void {
  // 40,000 files: 20 top dirs x 20 subdirs x 100 files, 100 B..8 KiB each.
  const pool = noise(8192 + 4096, 7);
  let n = 0;
  for (let a = 0; a < 20; a++) {
    for (let b = 0; b < 20; b++) {
      const d = join(dir, `pkg${a}`, `mod${b}`);
      mkdirSync(d, { recursive: true });
      for (let c = 0; c < 100; c++, n++) writeFileSync(join(d, `file${c}.txt`), pool.subarray(n % 4096, (n % 4096) + 100 + ((n * 7919) % 8092)));
    }
  }
}

function makeLarge(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const block = noise(1 << 20, 11);
  for (let i = 0; i < 8; i++) {
    const w = Bun.file(join(dir, `blob${i}.bin`)).writer();
    for (let m = 0; m < 256; m++) {
      block[0] = i;
      block[1] = m; // every MiB differs a little: no dedup or sparse tricks anywhere
      w.write(block);
    }
    w.end();
  }
}

function fixture(name: string, make: (dir: string) => void): string {
  const dir = join(benchDir, name);
  const done = join(benchDir, `${name}.done`);
  if (!existsSync(done)) {
    console.error(`generating ${dir} …`);
    make(dir);
    writeFileSync(done, "");
  }
  return dir;
}

const binArg = opt("--bin", "");
const imgb = binArg ? [resolve(binArg)] : existsSync(join(root, "dist/imgb")) ? [join(root, "dist/imgb")] : [process.execPath, join(root, "src/main.ts")];
console.log(`imgb = ${imgb.join(" ")}`);
const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

interface Result {
  wall: number;
  rss: number;
}

/** One run of a shell command under GNU time: wall seconds and max RSS in MB. */
function once(command: string): Result {
  const p = Bun.spawnSync(["/usr/bin/time", "-f", "%e %M", "sh", "-c", command], { stdout: "ignore", stderr: "pipe" });
  const lines = p.stderr.toString().trim().split("\n");
  if (p.exitCode !== 0) throw new Error(`${command} failed:\n${lines.join("\n")}`);
  const [wall, rss] = lines.at(-1)!.split(" ").map(Number);
  return { wall: wall!, rss: rss! / 1024 };
}

/**
 * Median wall time and max RSS per command. Runs are interleaved (round robin over the
 * commands) so that background load on a shared machine hits every command alike; one
 * warm-up round fills the page cache.
 */
function measureAll(commands: string[]): Result[] {
  const samples: Result[][] = commands.map(() => []);
  for (let round = 0; round <= runs; round++) {
    commands.forEach((c, i) => {
      const r = once(c);
      if (round > 0) samples[i]!.push(r);
    });
  }
  return samples.map((xs) => {
    const sorted = [...xs].sort((a, b) => a.wall - b.wall);
    return { wall: sorted[Math.floor(sorted.length / 2)]!.wall, rss: Math.max(...xs.map((x) => x.rss)) };
  });
}

const fixtures: [string, string][] = [];
if (only !== "large") fixtures.push(["small: 40,000 files", fixture("small", makeSmall)]);
if (only !== "small") fixtures.push(["large: 8 x 256 MB", fixture("large", makeLarge)]);

for (const [label, dir] of fixtures) {
  const rows: [string, string][] = [
    ["imgb CLI -o /dev/null", `${imgb.map(q).join(" ")} context ${q(dir)} -o /dev/null`],
    ["imgb CLI -o - | cat", `${imgb.map(q).join(" ")} context ${q(dir)} -o - | cat > /dev/null`],
    ["imgb library -> /dev/null", `${q(process.execPath)} ${q(import.meta.path)} --run ${q(dir)}`],
    ["GNU tar -cf - | cat", `tar -cf - -C ${q(dir)} . | cat > /dev/null`],
    ["Python tarfile", `python3 -c 'import tarfile,sys; t=tarfile.open("/dev/null","w"); t.add(sys.argv[1], arcname="."); t.close()' ${q(dir)}`],
  ];
  console.log(`\n${label} (${dir}), median of ${runs} warm runs`);
  const measured = measureAll(rows.map(([, cmd]) => cmd));
  const results = rows.map(([name], i) => [name, measured[i]!] as const);
  const tar = results.find(([n]) => n.startsWith("GNU"))![1].wall;
  const py = results.find(([n]) => n.startsWith("Python"))![1].wall;
  for (const [name, r] of results) {
    console.log(`  ${name.padEnd(28)} ${r.wall.toFixed(2).padStart(6)} s   peak RSS ${r.rss.toFixed(0).padStart(4)} MB   vs tar ${(r.wall / tar).toFixed(2)}x   vs python ${(py / r.wall).toFixed(1)}x faster`);
  }
}
