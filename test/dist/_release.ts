/**
 * One release build shared by the test/dist suites: `scripts/release.ts` for the host's glibc
 * target and its musl twin, into a private temporary directory (not dist/, which a developer's
 * own release may occupy). Built once per `bun test` process, removed when the run ends.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../helpers/binary.ts";

export const HOST_TARGET = `linux-${process.arch === "arm64" ? "arm64" : "x64"}`;
export const MUSL_TARGET = `${HOST_TARGET}-musl`;
/** Compiling two targets takes a few seconds, the first one may fetch the musl runtime. */
export const RELEASE_TIMEOUT = 180_000;

let release: Promise<ReleaseBuild> | undefined;

export interface ReleaseBuild {
  dir: string;
  /** The release script's stderr: the size report. */
  log: string;
  /** The release binary for this machine. */
  hostBinary: string;
}

async function build(): Promise<ReleaseBuild> {
  // Shared by the test/dist files of this process; test/helpers/preload.ts removes it at the end
  // (bun test fires no process "exit" event: a cleanup there never ran and leaked the release).
  const dir = mkdtempSync(join(process.env.IMGB_TEST_SHARED_TMPDIR ?? tmpdir(), "imgb-release-"));
  const proc = Bun.spawn([process.execPath, join(repoRoot, "scripts/release.ts"), "--target", `${HOST_TARGET},${MUSL_TARGET}`, "--outdir", dir], {
    cwd: repoRoot,
    env: process.env, // without it Bun passes its startup environment, not the private TMPDIR
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`scripts/release.ts exited with ${code}:\n${out}${err}`);
  return { dir, log: err, hostBinary: join(dir, `imgb-${HOST_TARGET}`) };
}

export function releaseBuild(): Promise<ReleaseBuild> {
  return (release ??= build());
}

export async function sha256File(path: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return h.digest("hex");
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs argv with exactly `env` (nothing inherited: HOME stays unset unless given), except
 * TMPDIR: the test process's private one, so mktemp and the compiler never litter the real /tmp.
 */
export async function run(argv: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const env = { TMPDIR: process.env.TMPDIR!, ...(opts.env ?? { PATH: "/usr/local/bin:/usr/bin:/bin" }) };
  const proc = Bun.spawn(argv, { cwd: opts.cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
