/**
 * Watches every process's argv (/proc/<pid>/cmdline) until killed, and prints `HIT <index>
 * <pid>` the first time a process's argv contains needle <index>. Needles come from the
 * environment (WATCH_NEEDLES, a JSON array) so that they never appear in this watcher's own argv.
 * With WATCH_ENV_NEEDLES (a JSON array) it reads each process's environment too
 * (/proc/<pid>/environ) and prints `ENV <index> <pid> <argv>` for those.
 * Run as a separate process so that the scan never waits on the test's event loop.
 */
import { readdirSync, readFileSync } from "node:fs";

const needles = JSON.parse(process.env.WATCH_NEEDLES ?? "[]") as string[];
const envNeedles = JSON.parse(process.env.WATCH_ENV_NEEDLES ?? "[]") as string[];
const seen = new Set<string>();
const self = String(process.pid);
console.log("READY");
for (;;) {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || pid === self) continue;
    let argv: string;
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    needles.forEach((needle, i) => {
      const key = `${i}:${pid}`;
      if (!seen.has(key) && argv.includes(needle)) {
        seen.add(key);
        console.log(`HIT ${i} ${pid}`);
      }
    });
    if (envNeedles.length === 0) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, "latin1");
    } catch {
      continue;
    }
    envNeedles.forEach((needle, i) => {
      // Keyed by argv too: a child seen between fork and exec still shows its parent's argv and
      // environment, and must be looked at again once it runs its own program.
      const key = `env${i}:${pid}:${argv}`;
      if (!seen.has(key) && environ.includes(needle)) {
        seen.add(key);
        console.log(`ENV ${i} ${pid} ${argv.replaceAll("\0", " ").trim()}`);
      }
    });
  }
  Bun.sleepSync(1); // ~1 ms between scans: an engine login lives for tens of milliseconds
}
