#!/usr/bin/env bun
/**
 * Build-context benchmark (not a test: numbers depend on the machine). Measures what a user
 * feels: the archive written to a real file on disk, and through a real pipe, by
 *
 *   imgb            `imgb context DIR -o FILE`          (the compiled binary: `bun run build`)
 *   imgb pipe       `imgb context DIR -o - | cat > FILE`
 *   GNU tar         `tar -cf FILE -C DIR .`
 *   GNU tar pipe    `tar -cf - -C DIR . | cat > FILE`
 *   Python tarfile  `tarfile.open(FILE, "w").add(DIR)`  (ZenML's way)
 *
 * Never /dev/null: GNU tar skips reading file data when its archive is /dev/null, and any
 * writer could. Commands run interleaved (round robin, after one warm-up round that fills the
 * page cache), so background load on a shared machine hits each alike; each row prints the
 * median wall time, the spread (min..max), median user+sys CPU, peak RSS (GNU time %M) and the
 * ratio of medians to GNU tar's. Before each command, untimed, `sync FILE` writes back the
 * previous one's output: else whoever runs next is throttled by its predecessor's dirty pages. Fixtures are generated in a temp dir of this script's own
 * (under the gitignored test/.tmp/) and removed at the end, outputs included.
 *
 *   bun scripts/bench-context.ts [--runs 7] [--only small|large] [--bin dist/imgb] [--base OLD_IMGB]
 *
 * `--base` adds rows for a second binary (e.g. one built from an older commit), interleaved
 * with the others, for a before/after comparison in one run.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const opt = (n: string, d: string) => (args.includes(n) ? args[args.indexOf(n) + 1]! : d);
const runs = Number(opt("--runs", "7"));
const only = opt("--only", "");
const bin = resolve(opt("--bin", join(root, "dist/imgb")));
const base = args.includes("--base") ? resolve(opt("--base", "")) : undefined;

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
  // 40,000 files: 20 top dirs x 20 subdirs x 100 files, 100 B..12 KiB each.
  const pool = noise(12288 + 4096, 7);
  let n = 0;
  for (let a = 0; a < 20; a++) {
    for (let b = 0; b < 20; b++) {
      const d = join(dir, `pkg${a}`, `mod${b}`);
      mkdirSync(d, { recursive: true });
      for (let c = 0; c < 100; c++, n++) writeFileSync(join(d, `file${c}.txt`), pool.subarray(n % 4096, (n % 4096) + 100 + ((n * 7919) % 12188)));
    }
  }
}

function makeLarge(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const block = noise(1 << 20, 11);
  for (let i = 0; i < 4; i++) {
    const parts: Uint8Array[] = [];
    for (let m = 0; m < 256; m++) {
      const b = block.slice();
      b[0] = i;
      b[1] = m; // every MiB differs a little: no dedup or sparse tricks anywhere
      parts.push(b);
    }
    writeFileSync(join(dir, `blob${i}.bin`), Buffer.concat(parts));
  }
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

interface Sample {
  wall: number;
  cpu: number;
  rss: number;
}

/** One run of a shell command under GNU time: wall and user+sys seconds, max RSS in MB. */
function once(command: string): Sample {
  const p = Bun.spawnSync(["/usr/bin/time", "-f", "%e %U %S %M", "sh", "-c", command], { stdout: "ignore", stderr: "pipe" });
  const lines = p.stderr.toString().trim().split("\n");
  if (p.exitCode !== 0) throw new Error(`${command} failed:\n${lines.join("\n")}`);
  const [wall, user, sys, rss] = lines.at(-1)!.split(" ").map(Number);
  return { wall: wall!, cpu: user! + sys!, rss: rss! / 1024 };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

function measureAll(commands: string[], output: string): Sample[][] {
  const samples: Sample[][] = commands.map(() => []);
  for (let round = 0; round <= runs; round++) {
    commands.forEach((c, i) => {
      // Untimed: write back the previous command's output first, so no command pays for its
      // predecessor's dirty pages (page-cache writeback throttling was most of the spread).
      if (existsSync(output)) Bun.spawnSync(["sync", output]);
      const r = once(c);
      if (round > 0) samples[i]!.push(r);
    });
  }
  return samples;
}

const work = mkdtempSync(join(root, "test/.tmp/bench-context-"));
const cleanup = () => rmSync(work, { recursive: true, force: true });
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});
try {
  const load = () => (Bun.spawnSync(["uptime"]).stdout.toString().match(/load average: (.*)/)?.[1] ?? "?").trim();
  console.log(`imgb = ${bin}${base ? `\nbase = ${base}` : ""}\nload average before: ${load()}`);
  const fixtures: [string, string, (d: string) => void][] = [];
  if (only !== "large") fixtures.push(["small: 40,000 files of 100 B..12 KiB", "small", makeSmall]);
  if (only !== "small") fixtures.push(["large: 4 x 256 MiB", "large", makeLarge]);
  for (const [label, name, make] of fixtures) {
    const dir = join(work, name);
    make(dir);
    const out = join(work, `${name}.tar`);
    const imgbRows = (b: string, tag: string): [string, string][] => [
      [`imgb${tag} -o FILE`, `${q(b)} context ${q(dir)} -o ${q(out)}`],
      [`imgb${tag} -o - | cat`, `${q(b)} context ${q(dir)} -o - | cat > ${q(out)}`],
    ];
    const rows: [string, string][] = [
      ...imgbRows(bin, ""),
      ...(base ? imgbRows(base, " (base)") : []),
      ["GNU tar -cf FILE", `tar -cf ${q(out)} -C ${q(dir)} .`],
      ["GNU tar -cf - | cat", `tar -cf - -C ${q(dir)} . | cat > ${q(out)}`],
      ["Python tarfile", `python3 -c 'import tarfile,sys; t=tarfile.open(sys.argv[2],"w"); t.add(sys.argv[1], arcname="."); t.close()' ${q(dir)} ${q(out)}`],
    ];
    console.log(`\n${label}: ${runs} interleaved warm runs each`);
    const samples = measureAll(rows.map(([, c]) => c), out);
    const tarFile = median(samples[rows.findIndex(([n]) => n === "GNU tar -cf FILE")]!.map((s) => s.wall));
    const tarPipe = median(samples[rows.findIndex(([n]) => n === "GNU tar -cf - | cat")]!.map((s) => s.wall));
    rows.forEach(([n], i) => {
      const xs = samples[i]!;
      const walls = xs.map((s) => s.wall);
      const m = median(walls);
      const ref = n.includes("| cat") ? tarPipe : tarFile;
      console.log(
        `  ${n.padEnd(24)} ${m.toFixed(2).padStart(6)} s  (${Math.min(...walls).toFixed(2)}..${Math.max(...walls).toFixed(2)})  cpu ${median(xs.map((s) => s.cpu)).toFixed(2).padStart(5)} s  RSS ${Math.max(...xs.map((s) => s.rss)).toFixed(0).padStart(3)} MB  ${(m / ref).toFixed(2)}x tar${n.includes("| cat") ? " pipe" : ""}`,
      );
    });
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { force: true });
  }
  console.log(`\nload average after: ${load()}`);
} finally {
  cleanup();
}
