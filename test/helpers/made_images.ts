/**
 * The local images a test run made, removed when the run ends (preload.ts's last afterAll).
 *
 * Engine suites push to `uniqueRepo()` names and mostly leave the local copies behind: a
 * tagged image per build in dockerd and in podman's storage, with its untagged parents.
 * Hundreds of runs later podman's storage held 1,700 images and a 2.7 MB images.json that
 * every podman command re-reads (a trivial two-step build took 1.2 s instead of 0.6 s, and two
 * concurrent ones slowed each other further). So every name uniqueRepo() hands out is
 * remembered here and, at the end, every local image whose repository contains one is removed
 * from the test daemons and from podman's storage (podman/docker `rmi` also remove the untagged
 * parents nothing else uses). Names are unique to this run: nothing another run (or another
 * engineer's test process) made is touched. An engine that is not running is skipped quietly.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const KEY = Symbol.for("imgb.test.madeNames");
const names = ((globalThis as Record<symbol, unknown>)[KEY] ??= new Set<string>()) as Set<string>;

/** Remembers a repository name (`imgb-e2e/foo-<unique>`) whose local images go at the end. */
export function rememberName(name: string): void {
  names.add(name);
}

/**
 * stdout of `argv`, or undefined when it fails or runs longer than `timeout` ms (the engines'
 * three listings and removals stay within preload.ts's hook timeout). In a TMPDIR of its own,
 * removed after: `podman images` makes and unlinks a temp file per image config it reads
 * (strace: ~96,000 on this machine's storage), so one killed by the timeout leaves one behind;
 * with Bun's startup environment (no `env`) that was the run's outer TMPDIR, which .ci/run
 * rightly reports as litter.
 */
async function output(argv: string[], timeout: number): Promise<string | undefined> {
  const tmp = mkdtempSync(join(process.env.IMGB_TEST_OUTER_TMPDIR ?? tmpdir(), "imgb-rmi-"));
  try {
    const p = Bun.spawn(argv, { stdout: "pipe", stderr: "ignore", timeout, env: { ...process.env, TMPDIR: tmp } });
    const [code, out] = await Promise.all([p.exited, new Response(p.stdout).text()]);
    return code === 0 ? out : undefined;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The references (`repo:tag`, or the ID of an untagged one) of `listing` lines `repo tag id` whose repo holds a remembered name. */
export function madeReferences(listing: string, made: ReadonlySet<string> = names): string[] {
  const refs = new Set<string>();
  for (const line of listing.split("\n")) {
    const [repo, tag, id] = line.trim().split(/\s+/);
    if (!repo || !id || ![...made].some((n) => repo.includes(n))) continue;
    refs.add(tag && tag !== "<none>" ? `${repo}:${tag}` : id);
  }
  return [...refs];
}

/** Removes every local image of a remembered name from each engine `clis` (argv prefixes); returns how many references it removed. */
export async function removeMadeImages(clis: readonly (readonly string[])[]): Promise<number> {
  if (names.size === 0) return 0;
  let removed = 0;
  for (const cli of clis) {
    if (!Bun.which(cli[0]!)) continue;
    const listing = await output([...cli, "images", "--no-trunc", "--format", "{{.Repository}} {{.Tag}} {{.ID}}"], 20_000);
    if (listing === undefined) continue;
    const refs = madeReferences(listing);
    if (refs.length === 0) continue;
    await output([...cli, "rmi", "--force", ...refs], 70_000);
    removed += refs.length;
  }
  return removed;
}
