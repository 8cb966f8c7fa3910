import { describe, expect, test } from "bun:test";
import { UsageError } from "../errors.ts";
import type { ResolvedRegistry } from "../stack/model.ts";
import { reuseMode } from "./reuse.ts";
import { isRecordTag, recordTag } from "./registry_record.ts";

const registry = { uri: "127.0.0.1:5000", insecure: true } as ResolvedRegistry;

describe("reuseMode", () => {
  test("default: registry with a container_registry, local without", () => {
    expect(reuseMode({ containerRegistry: registry })).toBe("registry");
    expect(reuseMode({})).toBe("local");
  });
  test("the stack's key, then --reuse, then --no-reuse (off) decide", () => {
    expect(reuseMode({ containerRegistry: registry, reuse: "local" })).toBe("local");
    expect(reuseMode({ containerRegistry: registry, reuse: "local" }, "registry")).toBe("registry");
    expect(reuseMode({ containerRegistry: registry }, undefined, true)).toBe("off");
    expect(reuseMode({ reuse: "registry" })).toBe("local"); // nothing shared to look in
  });
  test("a bad or contradicting flag is a usage error", () => {
    expect(() => reuseMode({}, "remote")).toThrow(UsageError);
    expect(() => reuseMode({}, "registry", true)).toThrow("contradict");
  });
});

describe("record tags", () => {
  test("imgb-<hex>: a valid tag, recognised by list/prune", () => {
    const t = recordTag(`sha256:${"ab".repeat(32)}`);
    expect(t).toBe(`imgb-${"ab".repeat(32)}`);
    expect(t).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
    expect(isRecordTag(t)).toBe(true);
    expect(isRecordTag("latest")).toBe(false);
  });
});
