/**
 * Preloaded by `bun test` (bunfig.toml): every test FILE gets a private TMPDIR, set in
 * process.env.TMPDIR before any of its code runs, so tests that look for leftover temp entries
 * see only their own, never those of other imgb processes on the machine (the cause of the
 * flaky cancellation tests), and a leftover is attributed to the file that made it.
 *
 * - One run directory `imgb-testrun-XXXXXX` under the TMPDIR we inherited (the real /tmp, or
 *   the private one .ci/run makes), and inside it one directory per test file
 *   (`007-cancel.e2e.test.ts`). bun loads every file in one process and a file's top-level code
 *   runs before any hook, so the switch happens in a loader hook (Bun.plugin onLoad) that sets
 *   TMPDIR and hands the file on unchanged. Files run one after another, so a before/after
 *   listing of tmpdir() inside a test is exact.
 * - node:os tmpdir() reads process.env.TMPDIR on every call; engine children started through
 *   src/exec.ts (env built from process.env) and the imgb binary (test/helpers/binary.ts passes
 *   TMPDIR on) inherit it. Bun.spawn WITHOUT an `env` option passes Bun's startup environment,
 *   not process.env: a test that wants its child in the private dir passes `env: process.env`.
 * - A fixture shared by several files goes in $IMGB_TEST_SHARED_TMPDIR, removed at the end.
 * - When the run ends (after every file's afterAll) the run directory must be empty. If it is
 *   not, the leftovers are listed on stderr by file; with CI=true they are kept for .ci/run to
 *   report and fail on, otherwise removed so a local run never litters the machine.
 */
import { afterAll } from "bun:test";
import { plugin } from "bun";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { removeMadeImages } from "./made_images.ts";
import { DOCKER2_TCP, DOCKER_CLI, DOCKER_HOST } from "./testenv.ts";

const outer = tmpdir();
const run = mkdtempSync(join(outer, "imgb-testrun-"));
// Traversable like /tmp (not listable): some tests run a child as "nobody" on a fixture in here.
chmodSync(run, 0o711);
process.env.TMPDIR = run;
/** The TMPDIR the run started with, for the few tests that must look at the machine's. */
process.env.IMGB_TEST_OUTER_TMPDIR = outer;
/** For fixtures shared by several files (e.g. one release build): removed when the run ends. */
const shared = join(run, "shared");
mkdirSync(shared, { mode: 0o711 });
process.env.IMGB_TEST_SHARED_TMPDIR = shared;

let files = 0;
plugin({
  name: "imgb-test-tmpdir",
  setup(build) {
    build.onLoad({ filter: /\.test\.[cm]?[jt]sx?$/ }, async (args) => {
      const dir = join(run, `${String(++files).padStart(3, "0")}-${basename(args.path)}`);
      mkdirSync(dir);
      chmodSync(dir, 0o711);
      process.env.TMPDIR = dir;
      const loader = args.path.endsWith("x") ? (args.path.includes(".js") ? "jsx" : "tsx") : args.path.includes(".js") ? "js" : "ts";
      return { contents: await Bun.file(args.path).text(), loader };
    });
  },
});

/** Every entry left in the run directory, by file directory; empty file directories removed. */
function leftovers(): string[] {
  const left: string[] = [];
  for (const name of readdirSync(run).sort()) {
    const path = join(run, name);
    let inside: string[];
    try {
      inside = readdirSync(path).sort();
    } catch {
      left.push(name); // a file, not one of our directories
      continue;
    }
    if (inside.length === 0 && /^\d{3}-/.test(name)) rmdirSync(path);
    else left.push(`${name}: ${inside.join(", ") || "(empty directory)"}`);
  }
  return left;
}

// A global afterAll runs once, after every file's own afterAll. (bun test fires no process
// "exit" event, so a cleanup registered there never runs: shared fixtures use `shared`.)
afterAll(async () => {
  // The local images of the run's uniqueRepo() names (made_images.ts): both test daemons and podman's storage.
  await removeMadeImages([[DOCKER_CLI, "-H", DOCKER_HOST], [DOCKER_CLI, "-H", DOCKER2_TCP], ["podman"]]);
  rmSync(shared, { recursive: true, force: true });
  const left = leftovers();
  if (left.length > 0) {
    process.stderr.write(`tests left files in their TMPDIR ${run}:\n${left.map((l) => `  ${l}\n`).join("")}`);
    if (process.env.CI === "true") return;
  }
  rmSync(run, { recursive: true, force: true });
}, 300_000); // removing a run's images from podman's storage takes a while (one storage reload per image)
