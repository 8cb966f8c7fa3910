/**
 * Temporary directories for tests, removed after the suite (`afterAll(cleanupTempDirs)`); trees
 * written from plain objects. They live in the test process's private TMPDIR
 * (test/helpers/preload.ts), which must be empty when the run ends.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

const made: string[] = [];

export function tempDir(prefix = "imgb-test-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

export function cleanupTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * A directory with a short path, in the TMPDIR the test run started with (preload.ts), for paths
 * the engines limit in length (podman's runroot, unix sockets); the caller removes it.
 */
export function shortTempDir(prefix: string): string {
  return mkdtempSync(join(process.env.IMGB_TEST_OUTER_TMPDIR ?? tmpdir(), prefix));
}
