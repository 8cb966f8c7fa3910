/**
 * Runs tasks of a dependency graph: at most `jobs` at once, each as soon as everything it
 * depends on has succeeded. A failure marks everything depending on it as skipped; the other
 * tasks go on, unless `failFast`, which aborts the running ones and starts no more.
 * Generic and engine-free: `imgb build` uses it with one task per image.
 */
export type Outcome<T> =
  | { state: "done"; value: T }
  | { state: "failed"; error: unknown }
  | { state: "skipped"; because: string }
  | { state: "cancelled" };

export interface ScheduleOptions {
  jobs: number;
  failFast?: boolean;
  signal?: AbortSignal;
  /** Called when a task is about to start. */
  onStart?(name: string): void;
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
  run: (name: string, signal: AbortSignal) => Promise<T>,
  options: ScheduleOptions,
): Promise<Map<string, Outcome<T>>> {
  const outcomes = new Map<string, Outcome<T>>();
  const pending = new Set(names);
  const running = new Map<string, Promise<void>>();
  const abort = new AbortController();
  const onOuterAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  const jobs = Math.max(1, Math.floor(options.jobs));

  const ready = (n: string) => deps(n).every((d) => !names.includes(d) || outcomes.get(d)?.state === "done");
  const blockedBy = (n: string) => deps(n).find((d) => names.includes(d) && outcomes.has(d) && outcomes.get(d)!.state !== "done");

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
        if (running.size >= jobs) break;
        if (!ready(n)) continue;
        pending.delete(n);
        options.onStart?.(n);
        const p = run(n, abort.signal).then(
          (value) => void outcomes.set(n, { state: "done", value }),
          (error) => {
            const cancelled = abort.signal.aborted && (isAbort(error) || error === abort.signal.reason);
            outcomes.set(n, cancelled ? { state: "cancelled" } : { state: "failed", error });
            if (options.failFast && !abort.signal.aborted) abort.abort(error);
          },
        ).finally(() => running.delete(n));
        running.set(n, p);
      }
      if (running.size === 0) {
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
