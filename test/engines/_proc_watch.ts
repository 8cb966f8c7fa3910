/**
 * A watcher of every process's argv (/proc/<pid>/cmdline) and environment (/proc/<pid>/environ),
 * for the tests that hunt secrets during a build. `watchProcesses()` starts it as a separate
 * process (so the scan, about every millisecond, never waits on the test's event loop) and
 * `stop()` returns every hit. Needles reach it through its environment (WATCH_ARGV,
 * WATCH_ENVIRON: JSON arrays), never its argv, and it skips itself and the test process.
 *
 * A hit is remembered per (needle, pid, argv), not per pid: a child caught between fork and exec
 * still shows its parent's argv and environment, and is looked at again once it runs its own
 * program. `isCommand()` tells such a hit (argv still the parent's) from the engine's own.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcHit {
  /** Which list the needle came from: found in the argv or in the environment. */
  kind: "argv" | "environ";
  /** Index of the needle in its list. */
  needle: number;
  pid: number;
  /** Parent, grandparent, … up to (not including) pid 1. */
  ancestors: number[];
  comm: string;
  /** The process's argv when it was seen, joined with spaces. */
  argv: string;
}

export interface ProcWatch {
  /** Stop watching (after a short grace for the last scan) and return every hit. */
  stop(): Promise<ProcHit[]>;
}

export async function watchProcesses(needles: { argv?: string[]; environ?: string[] }): Promise<ProcWatch> {
  const watcher = Bun.spawn([process.execPath, import.meta.path], {
    env: { PATH: process.env.PATH, WATCH_ARGV: JSON.stringify(needles.argv ?? []), WATCH_ENVIRON: JSON.stringify(needles.environ ?? []) },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = watcher.stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  while (!output.includes("READY\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the process watcher ended before it was ready: ${output}`);
    output += decoder.decode(value, { stream: true });
  }
  return {
    async stop() {
      await Bun.sleep(50);
      watcher.kill();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        output += decoder.decode(value, { stream: true });
      }
      return output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as ProcHit);
    },
  };
}

/** Whether `hit`'s argv is `argv` (a command's own, or its fork not yet exec'd). */
export function isCommand(hit: ProcHit, argv: readonly string[]): boolean {
  return hit.argv === argv.join(" ");
}

function scan(argvNeedles: string[], environNeedles: string[]): never {
  const seen = new Set<string>();
  const skip = new Set([String(process.pid), String(process.ppid)]);
  const read = (p: string) => {
    try {
      return readFileSync(p, "latin1");
    } catch {
      return undefined; // exited meanwhile, or not ours to read
    }
  };
  const ancestors = (pid: string) => {
    const out: number[] = [];
    for (let p = pid, i = 0; p !== "0" && p !== "1" && i < 64; i++) {
      const stat = read(`/proc/${p}/stat`);
      if (!stat) break;
      p = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? "0";
      if (p !== "0" && p !== "1") out.push(Number(p));
    }
    return out;
  };
  const report = (kind: ProcHit["kind"], needles: string[], text: string, pid: string, argv: string) => {
    needles.forEach((n, needle) => {
      const key = `${kind}\0${needle}\0${pid}\0${argv}`;
      if (seen.has(key) || !text.includes(n)) return;
      seen.add(key);
      const hit: ProcHit = { kind, needle, pid: Number(pid), ancestors: ancestors(pid), comm: (read(`/proc/${pid}/comm`) ?? "?").trim(), argv };
      console.log(JSON.stringify(hit));
    });
  };
  for (let round = 0; ; round++) {
    for (const pid of readdirSync("/proc")) {
      if (!/^\d+$/.test(pid) || skip.has(pid)) continue;
      const cmdline = read(`/proc/${pid}/cmdline`);
      if (cmdline === undefined) continue;
      const argv = cmdline.replaceAll("\0", " ").trim();
      report("argv", argvNeedles, cmdline, pid, argv);
      if (environNeedles.length === 0) continue;
      const environ = read(`/proc/${pid}/environ`);
      if (environ !== undefined) report("environ", environNeedles, environ, pid, argv);
    }
    if (round === 0) console.log("READY");
    Bun.sleepSync(1); // ~1 ms between scans: an engine login lives for tens of milliseconds
  }
}

if (import.meta.main) scan(JSON.parse(process.env.WATCH_ARGV ?? "[]"), JSON.parse(process.env.WATCH_ENVIRON ?? "[]"));
