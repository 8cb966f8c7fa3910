/**
 * Preloaded by `bun test` (bunfig.toml): the test process gets a private TMPDIR before any test
 * file is loaded, so tests that look for leftover `imgb-*` temp entries only see their own, not
 * those of other imgb processes on the machine (the cause of the flaky cancellation tests).
 *
 * - The directory is made under the TMPDIR we inherited (the real /tmp, or the private one
 *   .ci/run creates) and set in process.env.TMPDIR, which node:os tmpdir() reads on every call.
 *   Engine children started through src/exec.ts (env built from process.env) and the imgb binary
 *   (test/helpers/binary.ts passes TMPDIR on) inherit it. Note: Bun.spawn WITHOUT an `env`
 *   option passes Bun's startup environment, not process.env: a test that wants its child in
 *   the private dir passes `env: process.env` (or a copy).
 * - One directory per `bun test` process, not per file: bun loads every file in one process and
 *   a file's top-level code runs before any hook, so only the preload itself is early enough.
 *   Files run one after another, so a before/after listing inside a test is exact.
 * - At the end of the run the directory must be empty (every test removes what it makes). If it
 *   is not, the leftovers are listed on stderr; with CI=true they are kept for .ci/run to report
 *   and fail on, otherwise they are removed so a local run never litters the machine.
 */
import { afterAll } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const outer = tmpdir();
const own = mkdtempSync(join(outer, "imgb-testrun-"));
// Traversable like /tmp (not listable): some tests run a child as "nobody" on a fixture in here.
chmodSync(own, 0o711);
process.env.TMPDIR = own;
/** The TMPDIR the run started with, for the few tests that must look at the machine's. */
process.env.IMGB_TEST_OUTER_TMPDIR = outer;

afterAll(() => {
  const left = readdirSync(own).sort();
  if (left.length > 0) {
    process.stderr.write(`test run left ${left.length} entr${left.length === 1 ? "y" : "ies"} in its TMPDIR ${own}: ${left.join(", ")}\n`);
    if (process.env.CI === "true") return;
  }
  rmSync(own, { recursive: true, force: true });
});
