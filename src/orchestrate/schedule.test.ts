import { describe, expect, test } from "bun:test";
import { closure, NoNodeError, schedule } from "./schedule.ts";

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

describe("schedule over builder nodes", () => {
  const two = [{ name: "a", platforms: ["linux/amd64"] }, { name: "b", platforms: ["linux/amd64"] }];

  test("independent tasks spread over the nodes, least busy first, at most jobs per node", async () => {
    const names = ["t1", "t2", "t3", "t4", "t5", "t6"];
    const where = new Map<string, string>();
    const active = new Map<string, number>();
    let peak = 0;
    const out = await schedule(names, () => [], async (n, _s, node) => {
      where.set(n, node);
      active.set(node, (active.get(node) ?? 0) + 1);
      peak = Math.max(peak, active.get(node)!);
      await sleep(15);
      active.set(node, active.get(node)! - 1);
      return node;
    }, { jobs: 2, nodes: two, platforms: () => ["linux/amd64"] });
    expect(peak).toBe(2);
    expect([...where.values()].filter((n) => n === "a").length).toBe(3);
    expect([...where.values()].filter((n) => n === "b").length).toBe(3);
    expect(out.get("t1")).toEqual({ state: "done", value: where.get("t1")!, placements: [{ image: "t1", platform: "linux/amd64", node: where.get("t1")!, native: true }] });
  });

  test("an image goes to a node serving its platform natively, even when that node is busier", async () => {
    const nodes = [{ name: "amd", platforms: ["linux/amd64"] }, { name: "arm", platforms: ["linux/arm64"] }];
    const plat: Record<string, string[]> = { x1: ["linux/arm64"], x2: ["linux/arm64"], x3: ["linux/arm64"], y: ["linux/amd64"] };
    const where = new Map<string, string>();
    await schedule(Object.keys(plat), () => [], async (n, _s, node) => void where.set(n, node), { jobs: 1, nodes, platforms: (n) => plat[n]! , emulation: "allow" });
    expect(Object.fromEntries(where)).toEqual({ x1: "arm", x2: "arm", x3: "arm", y: "amd" });
  });

  test("no native node: emulation allow uses another node; deny fails the image with why, and its dependents are skipped", async () => {
    const nodes = [{ name: "amd", platforms: ["linux/amd64"] }];
    const g: Record<string, string[]> = { arm: [], onArm: ["arm"], other: [] };
    const platforms = (n: string) => (n === "other" ? ["linux/amd64"] : ["linux/arm64"]);
    const allowed = await schedule(Object.keys(g), (n) => g[n]!, async (_n, _s, node) => node, { jobs: 1, nodes, platforms, emulation: "allow" });
    expect(allowed.get("arm")).toMatchObject({ state: "done", value: "amd", placements: [{ node: "amd", native: false }] });
    const denied = await schedule(Object.keys(g), (n) => g[n]!, async (_n, _s, node) => node, { jobs: 1, nodes, platforms, emulation: "deny" });
    const failed = denied.get("arm") as { state: string; error: Error };
    expect(failed.state).toBe("failed");
    expect(failed.error).toBeInstanceOf(NoNodeError);
    expect(failed.error.message).toContain("no builder node that is up builds linux/arm64 natively ('amd' builds linux/amd64)");
    expect(failed.error.message).toContain("emulation: allow");
    expect(denied.get("onArm")).toEqual({ state: "skipped", because: "arm" });
    expect(denied.get("other")).toMatchObject({ state: "done", value: "amd" });
  });

  test("a node that goes down mid-build: its task and its pending work move to the other node", async () => {
    const names = ["t1", "t2", "t3", "t4"];
    const runs: string[] = [];
    const downs: string[] = [];
    let bDead = false;
    const out = await schedule(names, () => [], async (n, _s, node) => {
      runs.push(`${n}@${node}`);
      await sleep(10);
      if (node === "b") {
        bDead = true;
        throw new Error("connection reset");
      }
      return node;
    }, {
      jobs: 1,
      nodes: two,
      platforms: () => ["linux/amd64"],
      nodeDown: async (node) => (node === "b" && bDead ? "daemon gone" : undefined),
      onNodeDown: (node, reason, moved) => downs.push(`${node}: ${reason}: ${moved}`),
    });
    for (const n of names) expect(out.get(n)).toMatchObject({ state: "done", value: "a" });
    expect(downs).toEqual(["b: daemon gone: t2"]);
    expect(runs.filter((r) => r.endsWith("@b"))).toEqual(["t2@b"]);
    expect(runs).toContain("t2@a");
  });

  test("a task that fails on a node that is up fails (it is not moved)", async () => {
    const out = await schedule(["bad", "good"], () => [], async (n, _s, node) => {
      if (n === "bad") throw new Error("RUN false");
      return node;
    }, { jobs: 1, nodes: two, platforms: () => [], nodeDown: async () => undefined });
    expect(out.get("bad")).toMatchObject({ state: "failed", error: new Error("RUN false") });
    expect(out.get("good")).toMatchObject({ state: "done" });
  });

  test("the last node serving a platform goes down: its images fail with the reason, the rest finishes", async () => {
    const nodes = [{ name: "amd", platforms: ["linux/amd64"] }, { name: "arm", platforms: ["linux/arm64"] }];
    const plat: Record<string, string[]> = { a1: ["linux/arm64"], a2: ["linux/arm64"], x: ["linux/amd64"], y: ["linux/amd64"] };
    const out = await schedule(Object.keys(plat), () => [], async (_n, _s, node) => {
      await sleep(5);
      if (node === "arm") throw new Error("ssh: connection closed");
      return node;
    }, { jobs: 1, nodes, platforms: (n) => plat[n]!, nodeDown: async (node) => (node === "arm" ? "not reachable" : undefined) });
    for (const n of ["a1", "a2"]) {
      const o = out.get(n) as { state: string; error: Error };
      expect(o.state).toBe("failed");
      expect(o.error.message).toContain("'arm' is down (not reachable)");
    }
    expect(out.get("x")).toMatchObject({ state: "done", value: "amd" });
    expect(out.get("y")).toMatchObject({ state: "done", value: "amd" });
  });

  test("nodes down from the start get nothing; all down fails every task", async () => {
    const where: string[] = [];
    await schedule(["t1", "t2"], () => [], async (_n, _s, node) => void where.push(node), { jobs: 1, nodes: two, down: new Map([["a", "refused"]]) });
    expect(where).toEqual(["b", "b"]);
    const out = await schedule(["t1"], () => [], async () => 1, { jobs: 1, nodes: two, down: new Map([["a", "refused"], ["b", "refused"]]) });
    expect((out.get("t1") as { error: Error }).error.message).toContain("no builder node is up");
  });
});

describe("schedule: a multi-platform task split over nodes", () => {
  const amd = { name: "amd", platforms: ["linux/amd64"] };
  const arm = { name: "arm", platforms: ["linux/arm64"] };
  const both = ["linux/amd64", "linux/arm64"];
  /** Waits `ms`, or rejects when `signal` aborts. */
  const work = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, ms);
      signal.addEventListener("abort", () => (clearTimeout(t), reject(new DOMException("aborted", "AbortError"))), { once: true });
    });

  test("each platform runs on its native node; the outcome places each; a whole task gets no parts", async () => {
    const ran: string[] = [];
    const out = await schedule(["app", "solo"], () => [], async (n, _s, node, parts) => {
      if (!parts) return `${n}@${node}`;
      const r = await parts.run(async (platform, at) => (ran.push(`${platform}@${at}`), `${platform}@${at}`));
      return r.join(" ");
    }, { jobs: 2, nodes: [amd, arm], platforms: (n) => (n === "app" ? both : ["linux/amd64"]) });
    expect(out.get("app")).toEqual({
      state: "done",
      value: "linux/amd64@amd linux/arm64@arm",
      placements: [{ image: "app", platform: "linux/amd64", node: "amd", native: true }, { image: "app", platform: "linux/arm64", node: "arm", native: true }],
    });
    expect(ran.sort()).toEqual(["linux/amd64@amd", "linux/arm64@arm"]);
    expect(out.get("solo")).toMatchObject({ state: "done", value: "solo@amd" });
  });

  test("slots: the split task holds one per node from its start, each freed when its part settles", async () => {
    const log: string[] = [];
    const active = new Map<string, number>();
    let over = false;
    const enter = (node: string) => {
      active.set(node, (active.get(node) ?? 0) + 1);
      if (active.get(node)! > 1) over = true;
    };
    const leave = (node: string) => active.set(node, active.get(node)! - 1);
    const plat: Record<string, string[]> = { app: both, x: ["linux/amd64"], y: ["linux/arm64"] };
    await schedule(["app", "x", "y"], () => [], async (n, signal, node, parts) => {
      if (parts) {
        await parts.run(async (platform, at, s) => {
          enter(at);
          log.push(`start app/${platform}`);
          await work(platform === "linux/amd64" ? 10 : 80, s);
          log.push(`end app/${platform}`);
          leave(at);
        });
        return;
      }
      enter(node);
      log.push(`start ${n}`);
      await work(10, signal);
      log.push(`end ${n}`);
      leave(node);
    }, { jobs: 1, nodes: [amd, arm], platforms: (n) => plat[n]! });
    expect(over).toBe(false); // never two builds on a node with --jobs 1
    const at = (s: string) => log.indexOf(s);
    // x (amd) starts once app's amd part is done, while its arm part still runs; y waits for the arm part.
    expect(at("start x")).toBeGreaterThan(at("end app/linux/amd64"));
    expect(at("start x")).toBeLessThan(at("end app/linux/arm64"));
    expect(at("start y")).toBeGreaterThan(at("end app/linux/arm64"));
  });

  test("slots: a split task starts with the platforms that have a free slot; the others wait for theirs", async () => {
    const log: string[] = [];
    const plat: Record<string, string[]> = { x: ["linux/amd64"], app: both };
    await schedule(["x", "app"], () => [], async (n, signal, _node, parts) => {
      log.push(`start ${n}`);
      if (parts) await parts.run(async (platform) => void log.push(`app ${platform}`));
      else await work(30, signal);
      log.push(`end ${n}`);
    }, { jobs: 1, nodes: [amd, arm], platforms: (n) => plat[n]! });
    const at = (s: string) => log.indexOf(s);
    expect(at("start app")).toBeLessThan(at("end x"));
    expect(at("app linux/arm64")).toBeLessThan(at("end x"));
    expect(at("app linux/amd64")).toBeGreaterThan(at("end x")); // amd was x's until then
  });

  test("slots: two platforms whose only node is the same, --jobs 1: built one after the other (no deadlock)", async () => {
    const amd386 = { name: "amd", platforms: ["linux/amd64", "linux/386"] };
    const log: string[] = [];
    let active = 0;
    let peak = 0;
    const out = await schedule(["app"], () => [], async (_n, _s, _node, parts) => {
      return (await parts!.run(async (platform, at, s) => {
        if (at === "amd") peak = Math.max(peak, ++active);
        log.push(`start ${platform}@${at}`);
        await work(10, s);
        log.push(`end ${platform}@${at}`);
        if (at === "amd") active--;
        return at;
      })).join(",");
    }, { jobs: 1, nodes: [amd386, arm], platforms: () => ["linux/amd64", "linux/386", "linux/arm64"] });
    expect(out.get("app")).toMatchObject({ state: "done", value: "amd,amd,arm" });
    expect(peak).toBe(1);
    expect(log.indexOf("start linux/386@amd")).toBeGreaterThan(log.indexOf("end linux/amd64@amd"));
  });

  test("a part whose node goes down moves to another node serving its platform; the sibling part is not rerun", async () => {
    const arm2 = { name: "arm2", platforms: ["linux/arm64"] };
    const runs: string[] = [];
    const downs: string[] = [];
    const out = await schedule(["app"], () => [], async (_n, _s, _node, parts) => {
      return (await parts!.run(async (platform, at) => {
        runs.push(`${platform}@${at}`);
        if (at === "arm") throw new Error("connection reset");
        return at;
      })).join(",");
    }, {
      jobs: 1,
      nodes: [amd, arm, arm2],
      platforms: () => both,
      nodeDown: async (node) => (node === "arm" ? "daemon gone" : undefined),
      onNodeDown: (node, reason, moved, platform) => downs.push(`${node}: ${reason}: ${moved} ${platform}`),
    });
    expect(out.get("app")).toMatchObject({ state: "done", value: "amd,arm2", placements: [{ platform: "linux/amd64", node: "amd" }, { platform: "linux/arm64", node: "arm2" }] });
    expect(downs).toEqual(["arm: daemon gone: app linux/arm64"]);
    expect(runs.sort()).toEqual(["linux/amd64@amd", "linux/arm64@arm", "linux/arm64@arm2"]);
  });

  test("the only node of a platform goes down mid-build: the image fails naming the platform, the sibling is cancelled", async () => {
    let siblingAborted = false;
    const out = await schedule(["app", "other"], () => [], async (n, signal, _node, parts) => {
      if (!parts) return (await work(5, signal), n);
      return (await parts.run(async (platform, _at, s) => {
        if (platform === "linux/arm64") {
          await work(5, s);
          throw new Error("ssh: connection closed");
        }
        try {
          await work(1000, s);
        } catch (e) {
          siblingAborted = true;
          throw e;
        }
      })).join();
    }, { jobs: 1, nodes: [amd, arm], platforms: (n) => (n === "app" ? both : ["linux/amd64"]), nodeDown: async (node) => (node === "arm" ? "not reachable" : undefined) });
    const o = out.get("app") as { state: string; error: Error };
    expect(o.state).toBe("failed");
    expect(o.error).toBeInstanceOf(NoNodeError);
    expect(o.error.message).toContain("Cannot build 'app' for linux/arm64: no builder node that is up builds linux/arm64 natively ('amd' builds linux/amd64; 'arm' is down (not reachable))");
    expect(siblingAborted).toBe(true);
    expect(out.get("other")).toMatchObject({ state: "done", value: "other" });
  });

  test("a part that fails on a node that is up fails the image (not moved) and stops its sibling", async () => {
    let siblingAborted = false;
    const calls: string[] = [];
    const out = await schedule(["app"], () => [], async (_n, _s, _node, parts) => {
      return (await parts!.run(async (platform, at, s) => {
        calls.push(`${platform}@${at}`);
        if (platform === "linux/arm64") throw new Error("RUN false: exit 1");
        await work(1000, s).catch((e) => ((siblingAborted = true), Promise.reject(e)));
      })).join();
    }, { jobs: 1, nodes: [amd, arm], platforms: () => both, nodeDown: async () => undefined });
    expect(out.get("app")).toMatchObject({ state: "failed", error: new Error("RUN false: exit 1"), placements: [{ node: "amd" }, { node: "arm" }] });
    expect(siblingAborted).toBe(true);
    expect(calls.sort()).toEqual(["linux/amd64@amd", "linux/arm64@arm"]);
  });
});
