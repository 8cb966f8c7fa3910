/**
 * The house rules for a failing imgb run, checked in one place. Run the compiled binary on a bad
 * case and assert that it fails the way a user deserves:
 *
 *   const r = await expectCleanFailure({ args: ["build", "-f", file], cwd: dir, code: 2 });
 *   expect(r.errorLine).toContain("Unknown key 'bogus'");
 *
 * What is checked (each a separate violation in the thrown error's message):
 * - the exit code: 2 input (InputError), 1 runtime (RuntimeError), 130 cancelled;
 * - stderr ends with ONE error line (`[file:line:col: ]error: message[ (at /path)][ (hint: …)]`,
 *   see src/main.ts report()) and at most one more line (`usage: …`, `N errors`); nothing else
 *   unless `outputBefore` allows progress output before it (a build prints engine output);
 * - no stack trace: no "    at …" frame, no "file.ts:12:3" outside the error line's location, no
 *   compiled-binary frame (/$bunfs/);
 * - the binary's private TMPDIR (made here, inside the test process's own) is empty afterwards;
 * - every path in `unchanged` has the same listing, sizes, modes, mtimes and content as before;
 * - none of `secrets` appears in stdout or stderr.
 * Colour is off (NO_COLOR=1) so lines compare as text. `interrupt` sends SIGINT/SIGTERM once
 * stderr satisfies `when` (the stage to cancel at), for the Ctrl-C cases.
 *
 * `assessFailure()` is the pure check (for unit tests of the rules themselves);
 * `expectCleanFailure()` runs the binary and throws on any violation.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb, type RunResult } from "../helpers/binary.ts";
import { tempDir } from "../helpers/tmp.ts";

export interface FailingCase {
  args: string[];
  cwd?: string;
  /** Added to the binary's environment (PATH, HOME, TMPDIR, NO_COLOR=1); undefined removes. */
  env?: Record<string, string | undefined>;
  stdin?: string;
  /** The expected exit code. */
  code: number;
  /** Lines before the error line are allowed (progress, engine output). Default false. */
  outputBefore?: boolean;
  /** Files or directories that must not change. */
  unchanged?: string[];
  /** Strings that must never be printed. */
  secrets?: string[];
  /** Send `signal` once stderr-so-far satisfies `when`. */
  interrupt?: { signal: "SIGINT" | "SIGTERM"; when: (stderr: string) => boolean };
}

export interface FailureReport extends RunResult {
  /** The one `error:` line. */
  errorLine: string;
  /** What was left in the binary's private TMPDIR (relative paths). */
  tmpLeft: string[];
  /** The `unchanged` paths that changed. */
  changed: string[];
  /** Whether `interrupt` fired. */
  interrupted: boolean;
}

const ERROR_LINE = /^(\S+: )?error: \S/;
const FRAME = /^\s+at\s|\$bunfs|\bnode:internal\b/;
const TS_POSITION = /\.[cm]?[jt]sx?:\d+(:\d+)?/;

/** Every house rule `run` breaks for case `c` (empty: a clean failure). */
export function assessFailure(c: Pick<FailingCase, "code" | "outputBefore" | "secrets">, run: RunResult & { tmpLeft: string[]; changed: string[] }): string[] {
  const problems: string[] = [];
  if (run.code !== c.code) problems.push(`exit code ${run.code}, expected ${c.code}`);
  const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
  const errorIndexes = lines.flatMap((l, i) => (ERROR_LINE.test(l) ? [i] : []));
  if (errorIndexes.length !== 1) {
    problems.push(`${errorIndexes.length} error lines on stderr, expected exactly one`);
  } else {
    const at = errorIndexes[0]!;
    if (lines.length - at > 2) problems.push(`${lines.length - at - 1} lines after the error line, at most one allowed`);
    if (at > 0 && !c.outputBefore) problems.push(`${at} line(s) before the error line`);
    // A location at the start of the error line may be a .ts file (a flavor file): allowed.
    const rest = lines[at]!.replace(/^\S+: error: /, "error: ");
    if (TS_POSITION.test(rest)) problems.push(`source position in the error line: ${rest}`);
  }
  const frames = lines.filter((l) => FRAME.test(l) || (TS_POSITION.test(l) && /^\s/.test(l)));
  if (frames.length > 0) problems.push(`stack trace on stderr: ${frames[0]!.trim()}`);
  if (run.tmpLeft.length > 0) problems.push(`left in TMPDIR: ${run.tmpLeft.join(", ")}`);
  if (run.changed.length > 0) problems.push(`changed: ${run.changed.join(", ")}`);
  for (const s of c.secrets ?? []) if (run.stdout.includes(s) || run.stderr.includes(s)) problems.push("a secret was printed");
  return problems;
}

/** Runs the binary on `c` and throws one error listing every broken rule (with the output). */
export async function expectCleanFailure(c: FailingCase): Promise<FailureReport> {
  const tmp = tempDir("imgb-harness-");
  const before = new Map((c.unchanged ?? []).map((p) => [p, snapshot(p)]));
  let interrupted = false;
  const run = await runImgb(c.args, {
    cwd: c.cwd,
    stdin: c.stdin,
    env: { NO_COLOR: "1", ...c.env, TMPDIR: tmp },
    onStderr: c.interrupt
      ? (soFar, proc) => {
          if (!interrupted && c.interrupt!.when(soFar)) {
            interrupted = true;
            proc.kill(c.interrupt!.signal);
          }
        }
      : undefined,
  });
  const tmpLeft = listing(tmp).map((e) => e.split("\t")[0]!);
  const changed = [...before].filter(([p, snap]) => snapshot(p) !== snap).map(([p]) => p);
  const problems = assessFailure(c, { ...run, tmpLeft, changed });
  if (c.interrupt && !interrupted) problems.push("the interrupt never fired (its stage was not reached)");
  if (problems.length > 0) {
    throw new Error(`imgb ${c.args.join(" ")} broke the house rules:\n- ${problems.join("\n- ")}\n--- stderr ---\n${run.stderr}--- stdout ---\n${run.stdout}`);
  }
  const errorLine = run.stderr.split("\n").find((l) => ERROR_LINE.test(l))!;
  return { ...run, errorLine, tmpLeft, changed, interrupted };
}

/** A path's state: a sorted listing with type, size, mode, mtime and content hash. */
export function snapshot(path: string): string {
  if (!existsSync(path)) return "absent";
  return listing(path, true).join("\n");
}

function listing(root: string, withSelf = false): string[] {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    const st = lstatSync(p);
    const hash = st.isFile() ? new Bun.CryptoHasher("sha256").update(readFileSync(p)).digest("hex") : "";
    if (rel !== "" || withSelf) out.push(`${rel || "."}\t${st.mode}\t${st.size}\t${st.mtimeMs}\t${hash}`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n), rel ? `${rel}/${n}` : n);
  };
  walk(root, "");
  return out;
}
