import { describe, expect, test } from "bun:test";
import { candidates, choose, pickNode, plannedPlacements } from "./placement.ts";

const amd = { name: "amd", platforms: ["linux/amd64"] };
const arm = { name: "arm", platforms: ["linux/arm64"] };
const any = { name: "any" };

describe("placement", () => {
  test("native nodes first; a node that names no platform serves any", () => {
    expect(candidates(["linux/arm64"], [amd, arm], new Map(), "allow")).toEqual({ nodes: [arm], native: true });
    expect(candidates(["linux/arm64"], [amd, any], new Map(), "deny")).toEqual({ nodes: [any], native: true });
    expect(candidates([], [amd, arm], new Map(), "deny")).toEqual({ nodes: [amd, arm], native: true });
  });

  test("emulation only when no live node is native, and only when allowed", () => {
    expect(candidates(["linux/arm64"], [amd, arm], new Map([["arm", "gone"]]), "allow")).toEqual({ nodes: [amd], native: false });
    const denied = candidates(["linux/arm64"], [amd, arm], new Map([["arm", "gone"]]), "deny");
    expect(denied).toEqual({ why: expect.stringContaining("'arm' is down (gone)") });
  });

  test("least busy wins, then fewest started, then the first listed; full nodes are passed over", () => {
    const b = { name: "b" };
    const c = { name: "c" };
    expect(pickNode([b, c], new Map([["b", 1]]), new Map(), 2)?.name).toBe("c");
    expect(pickNode([b, c], new Map(), new Map([["b", 3], ["c", 1]]), 2)?.name).toBe("c");
    expect(pickNode([b, c], new Map(), new Map(), 2)?.name).toBe("b");
    expect(pickNode([b, c], new Map([["b", 2], ["c", 2]]), new Map(), 2)).toBeUndefined();
  });

  test("the plan spreads images evenly over the native nodes and says why one cannot go anywhere", () => {
    const p = { i1: ["linux/amd64"], i2: ["linux/amd64"], i3: ["linux/amd64"], r: ["linux/riscv64"] } as Record<string, string[]>;
    const two = [amd, { name: "amd2", platforms: ["linux/amd64"] }];
    const plan = plannedPlacements(Object.keys(p), (i) => p[i]!, two, new Map(), "deny");
    expect(plan.get("i1")).toEqual([{ image: "i1", platform: "linux/amd64", node: "amd", native: true }]);
    expect(plan.get("i2")).toEqual([{ image: "i2", platform: "linux/amd64", node: "amd2", native: true }]);
    expect(plan.get("i3")).toEqual([{ image: "i3", platform: "linux/amd64", node: "amd", native: true }]);
    expect(plan.get("r")).toEqual({ why: expect.stringContaining("builds linux/riscv64 natively") });
  });
});

describe("placement of a multi-platform image (split over nodes)", () => {
  const both = ["linux/amd64", "linux/arm64"];
  const multi = { name: "multi", platforms: ["linux/amd64", "linux/arm64"] };

  test("no node serves all natively: each platform to its native nodes", () => {
    expect(choose(both, [amd, arm], new Map(), "deny")).toEqual({ split: [{ platform: "linux/amd64", nodes: [amd], native: true }, { platform: "linux/arm64", nodes: [arm], native: true }] });
    // Even with emulation allowed: a native node per platform beats one node emulating the other.
    expect(choose(both, [amd, arm], new Map(), "allow")).toEqual({ split: [{ platform: "linux/amd64", nodes: [amd], native: true }, { platform: "linux/arm64", nodes: [arm], native: true }] });
  });

  test("a node that serves all natively wins: no split", () => {
    expect(choose(both, [amd, arm, multi], new Map(), "deny")).toEqual({ whole: [multi], native: true });
    expect(choose(both, [amd, any], new Map(), "deny")).toEqual({ whole: [any], native: true });
  });

  test("a platform no live node serves natively: emulation when allowed, else why names it", () => {
    const armDown = new Map([["arm", "connection refused"]]);
    // Only 'amd' is left for both: no split, the whole image there (arm64 emulated).
    expect(choose(both, [amd, arm], armDown, "allow")).toEqual({ whole: [amd], native: false });
    // Two amd64 nodes left: amd64 natively on either, arm64 emulated on either.
    const amd2 = { name: "amd2", platforms: ["linux/amd64"] };
    expect(choose(both, [amd, amd2, arm], armDown, "allow")).toEqual({ split: [{ platform: "linux/amd64", nodes: [amd, amd2], native: true }, { platform: "linux/arm64", nodes: [amd, amd2], native: false }] });
    const denied = choose(both, [amd, arm], armDown, "deny");
    expect(denied).toEqual({ why: expect.stringContaining("no builder node that is up builds linux/arm64 natively ('amd' builds linux/amd64; 'arm' is down (connection refused))") });
    expect((denied as { why: string }).why).toContain("emulation: allow");
    expect(choose(both, [amd], new Map(), "deny")).toEqual({ why: expect.stringContaining("builds linux/arm64 natively") });
  });

  test("one platform keeps the old rules (whole, emulated when allowed)", () => {
    expect(choose(["linux/arm64"], [amd], new Map(), "allow")).toEqual({ whole: [amd], native: false });
    expect(choose(["linux/arm64"], [amd], new Map(), "deny")).toEqual({ why: expect.stringContaining("builds linux/arm64 natively") });
  });

  test("the plan shows the node of each platform, spreading platforms like images", () => {
    const p = { app: both, solo: ["linux/amd64"] } as Record<string, string[]>;
    const amd2 = { name: "amd2", platforms: ["linux/amd64"] };
    const plan = plannedPlacements(Object.keys(p), (i) => p[i]!, [amd, amd2, arm], new Map(), "deny");
    expect(plan.get("app")).toEqual([
      { image: "app", platform: "linux/amd64", node: "amd", native: true },
      { image: "app", platform: "linux/arm64", node: "arm", native: true },
    ]);
    expect(plan.get("solo")).toEqual([{ image: "solo", platform: "linux/amd64", node: "amd2", native: true }]);
  });
});
