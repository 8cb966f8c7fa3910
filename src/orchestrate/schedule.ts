/**
 * Runs tasks of a dependency graph: at most `jobs` at once (per node), each as soon as
 * everything it depends on has succeeded. A failure marks everything depending on it as
 * skipped; the other tasks go on, unless `failFast`, which aborts the running ones and starts no
 * more. With builder nodes each task runs on a node chosen by placement.ts; a task that fails on
 * a node found down moves to another node serving its platforms, and when none is left it fails
 * with the reason. Generic and engine-free: `imgb build` uses it with one task per image.
 */
import { candidates, pickNode, placeWhole, type Emulation, type NodeSlot, type Placement } from "./placement.ts";

export type Outcome<T> =
  | { state: "done"; value: T; placements?: Placement[] }
  | { state: "failed"; error: unknown; placements?: Placement[] }
  | { state: "skipped"; because: string }
  | { state: "cancelled" };

export interface ScheduleOptions {
  /** Tasks at once on each node. */
  jobs: number;
  failFast?: boolean;
  signal?: AbortSignal;
  /** Called when a task is about to start (on `node`, when there are nodes). */
  onStart?(name: string, node?: string): void;
  /** Where tasks run; default: one node that takes everything. */
  nodes?: readonly NodeSlot[];
  /** Nodes known to be down before the start, with why. */
  down?: ReadonlyMap<string, string>;
  /** The platforms a task builds (each gets a placement); empty: no constraint. */
  platforms?(name: string): readonly string[];
  emulation?: Emulation;
  /**
   * Asked when a task failed on `node`: why the node is down, or undefined when it is up (the
   * task itself failed). A down node gets no more tasks, and the task is run again elsewhere.
   */
  nodeDown?(node: string, error: unknown): Promise<string | undefined>;
  /** A node was found down; `moved` is the task whose run it cut off. */
  onNodeDown?(node: string, reason: string, moved: string): void;
}

/** No node can run a task: it fails with this (its message says which nodes and why). */
export class NoNodeError extends Error {
  override name = "NoNodeError";
}

export type Task<T> = (signal: AbortSignal) => Promise<T>;

/** The names `targets` need, dependencies first (topological order), each once. */
export function closure(targets: readonly string[], deps: (name: string) => readonly string[]): string[] {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const d of deps(n)) visit(d);
    order.push(n);
  };
  for (const t of targets) visit(t);
  return order;
}

export async function schedule<T>(
  names: readonly string[],
  deps: (name: string) => readonly string[],
  run: (name: string, signal: AbortSignal, node: string) => Promise<T>,
  options: ScheduleOptions,
): Promise<Map<string, Outcome<T>>> {
  const outcomes = new Map<string, Outcome<T>>();
  const pending = new Set(names);
  const running = new Map<string, Promise<void>>();
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const jobs = Math.max(1, Math.floor(options.jobs));
  const nodes: readonly NodeSlot[] = options.nodes?.length ? options.nodes : [{ name: "" }];
  const down = new Map(options.down ?? []);
  const busy = new Map<string, number>();
  const started = new Map<string, number>();
  const emulation = options.emulation ?? "deny";
  const platformsOf = (n: string) => options.platforms?.(n) ?? [];
  const add = (m: Map<string, number>, k: string, d: number) => m.set(k, (m.get(k) ?? 0) + d);

  const ready = (n: string) => deps(n).every((d) => !names.includes(d) || outcomes.get(d)?.state === "done");
  const blockedBy = (n: string) => deps(n).find((d) => names.includes(d) && outcomes.has(d) && outcomes.get(d)!.state !== "done");

  /** A failure on `node`: is the node down (then the task goes back to pending)? */
  const movedOff = async (n: string, node: string, error: unknown): Promise<boolean> => {
    if (!options.nodeDown || abort.signal.aborted) return false;
    if (!down.has(node)) {
      const reason = await options.nodeDown(node, error);
      if (reason === undefined || abort.signal.aborted) return false;
      if (!down.has(node)) down.set(node, reason);
    }
    options.onNodeDown?.(node, down.get(node)!, n);
    return true;
  };

  try {
    while (pending.size || running.size) {
      // Skip what can no longer run; then start what can.
      let changed = true;
      while (changed) {
        changed = false;
        for (const n of pending) {
          const bad = blockedBy(n);
          if (bad !== undefined) {
            pending.delete(n);
            outcomes.set(n, { state: "skipped", because: bad });
            changed = true;
          }
        }
      }
      if (abort.signal.aborted) {
        for (const n of pending) outcomes.set(n, { state: "cancelled" });
        pending.clear();
      }
      for (const n of [...pending]) {
        if (!ready(n)) continue;
        const c = candidates(platformsOf(n), nodes, down, emulation);
        if ("why" in c) {
          const error = new NoNodeError(`Cannot build '${n}': ${c.why}`);
          pending.delete(n);
          outcomes.set(n, { state: "failed", error });
          if (options.failFast && !abort.signal.aborted) abort.abort(error);
          continue;
        }
        const node = pickNode(c.nodes, busy, started, jobs);
        if (!node) continue; // its nodes are full: a later round
        pending.delete(n);
        add(busy, node.name, 1);
        add(started, node.name, 1);
        const placements = options.nodes?.length ? placeWhole(n, platformsOf(n), node) : undefined;
        options.onStart?.(n, options.nodes?.length ? node.name : undefined);
        const p = run(n, abort.signal, node.name).then(
          (value) => void outcomes.set(n, placements ? { state: "done", value, placements } : { state: "done", value }),
          async (error) => {
            if (await movedOff(n, node.name, error)) {
              pending.add(n);
              return;
            }
            const cancelled = abort.signal.aborted && (isAbort(error) || error === abort.signal.reason);
            outcomes.set(n, cancelled ? { state: "cancelled" } : placements ? { state: "failed", error, placements } : { state: "failed", error });
            if (options.failFast && !abort.signal.aborted) abort.abort(error);
          },
        ).finally(() => {
          running.delete(n);
          add(busy, node.name, -1);
        });
        running.set(n, p);
      }
      if (running.size === 0) {
        // A failure just recorded (no node for a task) decides what waited on it: another round.
        if (pending.size && (abort.signal.aborted || [...pending].some((n) => ready(n) || blockedBy(n) !== undefined))) continue;
        if (pending.size) throw new Error(`Scheduler stuck with ${[...pending].join(", ")}: a dependency outside the graph?`);
        break;
      }
      await Promise.race(running.values());
    }
  } finally {
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
  return outcomes;
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === "AbortError" || e.name === "CancelledError");
}
