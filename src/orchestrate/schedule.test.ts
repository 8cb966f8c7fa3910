import { describe, expect, test } from "bun:test";
import { closure, schedule } from "./schedule.ts";

const graph: Record<string, string[]> = { base: [], left: ["base"], right: ["base"], app: ["left", "right"], other: [] };
const deps = (n: string) => graph[n] ?? [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("schedule", () => {
  test("closure: what targets need, dependencies first", () => {
    expect(closure(["app"], deps)).toEqual(["base", "left", "right", "app"]);
    expect(closure(["left", "other"], deps)).toEqual(["base", "left", "other"]);
  });

  test("dependencies first, independent tasks in parallel, never more than jobs", async () => {
    const log: string[] = [];
    let active = 0;
    let peak = 0;
    const out = await schedule(Object.keys(graph), deps, async (n) => {
      active++;
      peak = Math.max(peak, active);
      log.push(`start ${n}`);
      await sleep(20);
      log.push(`end ${n}`);
      active--;
      return n.toUpperCase();
    }, { jobs: 2 });
    expect(peak).toBe(2);
    expect(out.get("app")).toEqual({ state: "done", value: "APP" });
    const at = (s: string) => log.indexOf(s);
    expect(at("start left")).toBeGreaterThan(at("end base"));
    expect(at("start app")).toBeGreaterThan(Math.max(at("end left"), at("end right")));
  });

  test("a dependent starts as soon as its own dependencies are done", async () => {
    const g: Record<string, string[]> = { slow: [], fast: [], afterFast: ["fast"] };
    const log: string[] = [];
    await schedule(Object.keys(g), (n) => g[n]!, async (n) => {
      log.push(`start ${n}`);
      await sleep(n === "slow" ? 80 : 10);
      log.push(`end ${n}`);
    }, { jobs: 3 });
    expect(log.indexOf("start afterFast")).toBeLessThan(log.indexOf("end slow"));
  });

  test("failure skips dependents; independent tasks finish", async () => {
    const out = await schedule(Object.keys(graph), deps, async (n) => {
      if (n === "left") throw new Error("left broke");
      await sleep(5);
      return n;
    }, { jobs: 1 });
    expect(out.get("left")?.state).toBe("failed");
    expect(out.get("app")).toEqual({ state: "skipped", because: "left" });
    expect(out.get("right")?.state).toBe("done");
    expect(out.get("other")?.state).toBe("done");
  });

  test("failFast aborts running tasks and starts no more", async () => {
    const started: string[] = [];
    const out = await schedule(["a", "b", "c"], () => [], async (n, signal) => {
      started.push(n);
      if (n === "a") throw new Error("a broke");
      await new Promise((resolve, reject) => {
        const t = setTimeout(resolve, 1000);
        signal.addEventListener("abort", () => (clearTimeout(t), reject(new DOMException("aborted", "AbortError"))));
      });
    }, { jobs: 2, failFast: true });
    expect(out.get("a")?.state).toBe("failed");
    expect(out.get("b")?.state).toBe("cancelled");
    expect(out.get("c")?.state).toBe("cancelled");
    expect(started).toEqual(["a", "b"]);
  });

  test("an outer abort cancels what has not started", async () => {
    const ctl = new AbortController();
    const out = await schedule(["a", "b"], () => [], async (n) => {
      ctl.abort();
      return n;
    }, { jobs: 1, signal: ctl.signal });
    expect(out.get("a")?.state).toBe("done");
    expect(out.get("b")?.state).toBe("cancelled");
  });
});
