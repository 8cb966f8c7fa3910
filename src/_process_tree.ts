/**
 * The descendants of a process, from /proc (Linux). Used to stop an engine completely: podman
 * and buildah exit on SIGTERM but leave the RUN step's container process (under runc) running,
 * re-parented to init, where nothing would ever stop it. Taking the list *before* signalling is
 * the only moment the tree is still connected.
 */
import { readdirSync, readFileSync } from "node:fs";

/** PIDs below `root`, parents before children; empty where /proc is not available. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile
    }
    // Field 4 is the parent PID; field 2 (the command) may contain spaces and parentheses.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** Sends `signal` to each PID, ignoring those that are already gone. */
export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // ESRCH: already exited.
    }
  }
}

/**
 * SIGKILL every descendant of `root`, none missed: one list is not enough, as a process can fork
 * while /proc is read (a RUN step's `sh -c "echo x && sleep 200"` between the echo and the
 * sleep), and its new child, outside the list, outlives it re-parented (seen in the podman
 * cancellation test). So the tree is frozen first, `root` included: the listed processes are
 * stopped (SIGSTOP, a stopped process forks no more), the tree is read again for children born
 * meanwhile, until a reading adds none (at most `rounds`); then all are killed. A stopped process
 * keeps its PID, so no PID signalled can belong to someone else by then. `root` itself gets
 * `rootSignal` (if any) while still stopped, then SIGCONT: it handles that signal, or carries on
 * without its children. Returns the descendants' PIDs.
 */
export function killDescendants(root: number, options: { rootSignal?: NodeJS.Signals; rounds?: number } = {}): number[] {
  const frozen = new Set<number>();
  signalAll([root], "SIGSTOP");
  try {
    for (let i = 0; i < (options.rounds ?? 8); i++) {
      const fresh = descendants(root).filter((pid) => !frozen.has(pid));
      if (fresh.length === 0) break;
      signalAll(fresh, "SIGSTOP");
      for (const pid of fresh) frozen.add(pid);
    }
    const all = [...frozen];
    signalAll(all, "SIGKILL");
    return all;
  } finally {
    if (options.rootSignal) signalAll([root], options.rootSignal);
    if (options.rootSignal !== "SIGKILL") signalAll([root], "SIGCONT");
  }
}
