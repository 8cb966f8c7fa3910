/**
 * The compiled binary under test: $IMGB_BIN, else dist/imgb (built once with `bun run build`
 * when missing). Tests run it as users do: from another directory, stdout and stderr apart, with
 * only PATH, HOME and TMPDIR of the test's environment (plus what the test gives).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Subprocess } from "bun";

const root = resolve(import.meta.dir, "../..");
let built: string | undefined;

export function imgbBinary(): string {
  if (built) return built;
  const bin = process.env.IMGB_BIN ?? resolve(root, "dist/imgb");
  if (!existsSync(bin)) {
    const p = Bun.spawnSync([process.execPath, "run", "build"], { cwd: root, stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`bun run build failed:\n${p.stderr.toString()}`);
  }
  built = bin;
  return bin;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin?: string;
  /** Called with all of stderr so far on every chunk, e.g. to send a signal at a given stage. */
  onStderr?: (soFar: string, proc: Subprocess) => void;
}

export async function runImgb(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  // TMPDIR: the test process's private one (test/helpers/preload.ts), so the binary's temp files
  // land where the test's "nothing left behind" checks look.
  const env: Record<string, string | undefined> = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...opts.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const proc = Bun.spawn([imgbBinary(), ...args], {
    cwd: opts.cwd ?? root,
    env: env as Record<string, string>,
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const readStderr = async () => {
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of proc.stderr) {
      text += decoder.decode(chunk, { stream: true });
      opts.onStderr?.(text, proc);
    }
    return text + decoder.decode();
  };
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), readStderr(), proc.exited]);
  return { code, stdout, stderr };
}

export const repoRoot = root;
