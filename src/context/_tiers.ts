/**
 * The per-file loops of a context (walk, entry table, tar writer, directory copy) stay out of
 * JavaScriptCore's top JIT tier, FTL (issue #18). They still reach the baseline and DFG tiers.
 *
 * Why: writing a context is a burst of well under a second per 40,000 files on two threads, and
 * FTL's compiles do not pay for themselves in it. Measured on the 40,000-file tree (`imgb context
 * DIR -o FILE`, BUN_JSC_reportFTLCompileTimes=1): 43 FTL compiles, 214 ms of compiler CPU, on a
 * 2-core machine whose two cores the main thread and the part worker already use. With these
 * functions marked, none: 8 interleaved runs 0.43-0.57 s (median 0.50) against 0.50-0.70 s
 * (0.57), user CPU 0.30-0.42 s against 0.41-0.63 s, and peak RSS 58-59 MB against 61-64 MB
 * (FTL's compiler is ~3 MB of the binary's code pages and ~2 MB of heap that are never touched).
 *
 * Each module marks its own hot functions at its end, exported or not (`stayBelowFTL(...)`): a
 * class marks its methods, accessors and static methods. Module code runs once per thread, so the
 * part worker (_split_worker.ts) marks its own copies. A Bun without `noFTL` changes nothing.
 */
import * as jsc from "bun:jsc";

type Fn = (...args: never[]) => unknown;
/** A function or a class. */
export type Target = Fn | (abstract new (...args: never[]) => unknown);

const noFTL = (jsc as { noFTL?: (f: Fn) => void }).noFTL;

/** The functions `targets` stand for: each function, and for a class its statics and its prototype's methods and accessors. */
export function functionsOf(targets: readonly Target[]): Fn[] {
  const found = new Set<Fn>();
  for (const target of targets) {
    found.add(target as Fn);
    for (const holder of [target, (target as { prototype?: object }).prototype]) {
      if (holder === undefined || holder === null) continue;
      for (const key of Object.getOwnPropertyNames(holder)) {
        if (key === "constructor" || key === "prototype") continue;
        const d = Object.getOwnPropertyDescriptor(holder, key)!;
        for (const f of [d.value, d.get, d.set]) if (typeof f === "function") found.add(f as Fn);
      }
    }
  }
  return [...found];
}

/** Never compile `targets` (functions or classes) with FTL (see above). */
export function stayBelowFTL(...targets: Target[]): void {
  if (typeof noFTL !== "function") return;
  for (const f of functionsOf(targets)) noFTL(f);
}
