import { describe, expect, test } from "bun:test";
import { candidates, pickNode, plannedPlacements } from "./placement.ts";

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
