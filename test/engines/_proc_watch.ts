/**
 * Watches every process's argv (/proc/<pid>/cmdline) until killed, and prints `HIT <index>
 * <pid>` the first time a process's argv contains needle <index>. Needles come from the
 * environment (WATCH_NEEDLES, a JSON array) so that they never appear in this watcher's own argv.
 * Run as a separate process so that the scan never waits on the test's event loop.
 */
import { readdirSync, readFileSync } from "node:fs";

const needles = JSON.parse(process.env.WATCH_NEEDLES ?? "[]") as string[];
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
  }
  Bun.sleepSync(1); // ~1 ms between scans: an engine login lives for tens of milliseconds
}
