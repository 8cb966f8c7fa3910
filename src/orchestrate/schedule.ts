/**
 * Runs tasks of a dependency graph: at most `jobs` at once (per node), each as soon as
 * everything it depends on has succeeded. A failure marks everything depending on it as
 * skipped; the other tasks go on, unless `failFast`, which aborts the running ones and starts no
 * more. With builder nodes each task runs on a node chosen by placement.ts; a task that fails on
 * a node found down moves to another node serving its platforms, and when none is left it fails
 * with the reason. Generic and engine-free: `imgb build` uses it with one task per image.
 *
 * A task split over nodes (no node serves all its platforms natively, placement.ts `choose`)
 * holds one slot per platform, on that platform's node: from its start for the platforms that
 * have one free then, the others once one is free; its `run` gets `Parts`, through which it
 * runs one part per platform. A part's slot is freed as soon as the part settles (its node takes other work while a slower sibling goes on); a part whose node is found
 * down runs again on another node serving its platform, waiting for a free slot there; a part
 * that fails stops its siblings.
 */
import { CancelledError } from "../errors.ts";
import { candidates, choose, pickNode, placeWhole, type Emulation, type NodeSlot, type Placement } from "./placement.ts";

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
  /** Called when a task is about to start (on `node`, when there are nodes; a split task: `node` is its first part's, `parts` says all). */
  onStart?(name: string, node?: string, parts?: readonly Placement[]): void;
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
  /** A node was found down; `moved` is the task whose run it cut off (`platform`: the part of a split task). */
  onNodeDown?(node: string, reason: string, moved: string, platform?: string): void;
}

/** What a split task's `run` builds its platforms through (see the file comment). */
export interface Parts {
  /** Where each platform is now, in the task's platform order (a part that moved: its new node). */
  readonly placements: readonly Placement[];
  /**
   * `fn` once per platform, each on its node and holding a slot there until it settles: the
   * results in platform order, or the first failure once the other parts have stopped (they are
   * cancelled). A part that fails on a node found down runs again elsewhere; none left: NoNodeError.
   */
  run<R>(fn: (platform: string, node: string, signal: AbortSignal) => Promise<R>): Promise<R[]>;
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
  run: (name: string, signal: AbortSignal, node: string, parts?: Parts) => Promise<T>,
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
  // A slot freed mid-task (a part settled) may let a pending task or a waiting part start.
  let freed = Promise.withResolvers<void>();
  const release = (node: string) => {
    add(busy, node, -1);
    const f = freed;
    freed = Promise.withResolvers<void>();
    f.resolve();
  };
  const take = (node: string) => {
    add(busy, node, 1);
    add(started, node, 1);
  };

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

  /**
   * A split task starts once some of its platforms have a free slot, held until their parts use
   * it; the others get theirs when their part runs (a node serving two of its platforms with
   * `--jobs 1` builds them one after the other: waiting for both slots at once would never end).
   * Their placement until then is their first candidate.
   */
  const reserve = (n: string, split: readonly { platform: string; nodes: NodeSlot[]; native: boolean }[]): SplitTask | undefined => {
    const picked: Placement[] = [];
    const held: string[] = [];
    for (const part of split) {
      const node = pickNode(part.nodes, busy, started, jobs);
      if (node) {
        take(node.name);
        held.push(part.platform);
      }
      picked.push({ image: n, platform: part.platform, node: (node ?? part.nodes[0]!).name, native: part.native });
    }
    return held.length ? splitTask(n, picked, held) : undefined;
  };

  /** A slot for `platform` on a live node serving it, once one is free; no such node: NoNodeError. */
  const slotFor = async (n: string, platform: string, signal: AbortSignal): Promise<Placement> => {
    const aborted = new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    for (;;) {
      signal.throwIfAborted();
      const c = candidates([platform], nodes, down, emulation);
      if ("why" in c) throw new NoNodeError(`Cannot build '${n}' for ${platform}: ${c.why}`);
      const node = pickNode(c.nodes, busy, started, jobs);
      if (node) {
        take(node.name);
        return { image: n, platform, node: node.name, native: c.native };
      }
      await Promise.race([freed.promise, aborted]);
    }
  };

  const splitTask = (n: string, initial: Placement[], reserved: readonly string[]): SplitTask => {
    const placements = initial;
    /** Platforms whose slot is held (reserved, or taken when the part ran) and not yet freed. */
    const held = new Set(reserved);
    const free = (platform: string) => {
      if (!held.delete(platform)) return;
      release(placements.find((p) => p.platform === platform)!.node);
    };
    const runPart = async <R>(i: number, fn: (platform: string, node: string, signal: AbortSignal) => Promise<R>, signal: AbortSignal): Promise<R> => {
      const platform = placements[i]!.platform!;
      for (;;) {
        if (!held.has(platform)) {
          placements[i] = await slotFor(n, platform, signal);
          held.add(platform);
        }
        const node = placements[i]!.node;
        try {
          return await fn(platform, node, signal);
        } catch (error) {
          if (signal.aborted || !options.nodeDown) throw error;
          if (!down.has(node)) {
            const reason = await options.nodeDown(node, error);
            if (reason === undefined || signal.aborted) throw error;
            if (!down.has(node)) down.set(node, reason);
          }
          options.onNodeDown?.(node, down.get(node)!, n, platform);
        } finally {
          free(platform);
        }
      }
    };
    const task: SplitTask = {
      placements,
      ran: false,
      releaseAll: () => {
        for (const platform of [...held]) free(platform);
      },
      run: async <R>(fn: (platform: string, node: string, signal: AbortSignal) => Promise<R>): Promise<R[]> => {
        task.ran = true;
        const stop = new AbortController();
        const signal = AbortSignal.any([abort.signal, stop.signal]);
        let first: { error: unknown } | undefined;
        const settled = await Promise.allSettled(
          placements.map((_, i) =>
            runPart(i, fn, signal).catch((error: unknown) => {
              if (!first) {
                first = { error };
                stop.abort(error);
              }
              throw error;
            }),
          ),
        );
        if (first) throw first.error;
        return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
      },
    };
    return task;
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
        const c = choose(platformsOf(n), nodes, down, emulation);
        if ("why" in c) {
          const error = new NoNodeError(`Cannot build '${n}': ${c.why}`);
          pending.delete(n);
          outcomes.set(n, { state: "failed", error });
          if (options.failFast && !abort.signal.aborted) abort.abort(error);
          continue;
        }
        let node: NodeSlot;
        let placements: Placement[] | undefined;
        let parts: SplitTask | undefined;
        if ("whole" in c) {
          const picked = pickNode(c.whole, busy, started, jobs);
          if (!picked) continue; // its nodes are full: a later round
          node = picked;
          take(node.name);
          placements = options.nodes?.length ? placeWhole(n, platformsOf(n), node) : undefined;
        } else {
          const reserved = reserve(n, c.split);
          if (!reserved) continue;
          parts = reserved;
          placements = parts.placements;
          node = { name: placements[0]!.node };
        }
        pending.delete(n);
        options.onStart?.(n, options.nodes?.length ? node.name : undefined, ...(parts ? [parts.placements] : []));
        const p = run(n, abort.signal, node.name, parts).then(
          (value) => void outcomes.set(n, placements ? { state: "done", value, placements: [...placements] } : { state: "done", value }),
          async (error) => {
            // A split task's parts move on their own: once they ran, its failure is theirs.
            if (!parts?.ran && !(error instanceof NoNodeError) && (await movedOff(n, node.name, error))) {
              pending.add(n);
              return;
            }
            const cancelled = abort.signal.aborted && (isAbort(error) || error === abort.signal.reason);
            outcomes.set(n, cancelled ? { state: "cancelled" } : placements ? { state: "failed", error, placements: [...placements] } : { state: "failed", error });
            if (options.failFast && !abort.signal.aborted) abort.abort(error);
          },
        ).finally(() => {
          running.delete(n);
          if (parts) parts.releaseAll();
          else release(node.name);
        });
        running.set(n, p);
      }
      if (running.size === 0) {
        // A failure just recorded (no node for a task) decides what waited on it: another round.
        if (pending.size && (abort.signal.aborted || [...pending].some((n) => ready(n) || blockedBy(n) !== undefined))) continue;
        if (pending.size) throw new Error(`Scheduler stuck with ${[...pending].join(", ")}: a dependency outside the graph?`);
        break;
      }
      await Promise.race([...running.values(), freed.promise]);
    }
  } finally {
    options.signal?.removeEventListener("abort", onOuterAbort);
  }
  return outcomes;
}

/** A split task's parts, and what the scheduler frees when the task ends. */
interface SplitTask extends Parts {
  readonly placements: Placement[];
  /** Whether `run` was called (the parts then handle their nodes going down). */
  ran: boolean;
  /** Frees the slots of parts that never ran or are still held. */
  releaseAll(): void;
}

function isAbort(e: unknown): boolean {
  // By class too: the release binary is minified, its class names (and so `name`) are not kept.
  return e instanceof CancelledError || (e instanceof Error && (e.name === "AbortError" || e.name === "CancelledError"));
}
