import { describe, expect, test } from "bun:test";
import { planPulls, withNamedContexts } from "./pulls.ts";

const registry = { uri: "127.0.0.1:5001", insecure: true };
const flags = ["--tls-verify=false", "--authfile", "/t/auth.json"];
const stackBase = `127.0.0.1:5001/base@sha256:${"b".repeat(64)}`;

describe("pull plan", () => {
  test("all remote bases in the stack registry: the build itself gets the registry's flags", () => {
    expect(planPulls([stackBase], false, registry, flags)).toEqual({ buildFlags: flags, prePull: [], pullAlways: false });
    expect(planPulls([stackBase], true, registry, flags).pullAlways).toBe(true);
  });

  test("no base in the stack registry, no registry, unknown bases, or nothing to add: the engine's defaults", () => {
    const none = { buildFlags: [], prePull: [], pullAlways: false };
    expect(planPulls(["busybox:latest", "127.0.0.1:5000/x:1"], false, registry, flags)).toEqual(none);
    expect(planPulls([stackBase], false, undefined, [])).toEqual(none);
    expect(planPulls(undefined, false, registry, flags)).toEqual(none);
    expect(planPulls([stackBase], false, { uri: "ghcr.io/acme", insecure: false }, [])).toEqual(none);
  });

  test("mixed with another registry: the stack's bases are pulled first, the others keep TLS and the user's logins", () => {
    expect(planPulls([stackBase, "docker.io/library/alpine:3"], false, registry, flags)).toEqual({ buildFlags: [], prePull: [{ ref: stackBase, flags }], pullAlways: false });
    // With `pull`, the other bases are pulled first as well, with no extra flags.
    expect(planPulls([stackBase, "alpine:3"], true, registry, flags)).toEqual({
      buildFlags: [],
      prePull: [{ ref: stackBase, flags }, { ref: "alpine:3", flags: [] }],
      pullAlways: false,
    });
  });
});

describe("pull plan with a registry cache in the stack registry", () => {
  test("the build carries the registry's flags; other bases it lacks are pulled first without them", () => {
    const { planPullsWithStackCache, cacheInStackRegistry } = require("./pulls.ts") as typeof import("./pulls.ts");
    expect(planPullsWithStackCache(["alpine:3", "local/base:1", stackBase], false, registry, flags, ["local/base:1"])).toEqual({
      buildFlags: flags,
      prePull: [{ ref: "alpine:3", flags: [] }],
      pullAlways: false,
    });
    expect(planPullsWithStackCache(["alpine:3", stackBase], true, registry, flags, ["alpine:3"]).prePull).toEqual([{ ref: stackBase, flags }, { ref: "alpine:3", flags: [] }]);
    expect(cacheInStackRegistry({ cacheFrom: ["127.0.0.1:5001/app-cache"], cacheTo: [] }, registry)).toBe(true);
    expect(cacheInStackRegistry({ cacheFrom: ["127.0.0.1:5000/app-cache"], cacheTo: [{ type: "inline" }] }, registry)).toBe(false);
  });
});

describe("withNamedContexts", () => {
  test("a FROM naming a named context is no base; image contexts are pulled like bases", () => {
    const contexts = [{ name: "assets", directory: "/x" }, { name: "tools", image: "127.0.0.1:5000/t@sha256:" + "a".repeat(64) }];
    expect(withNamedContexts(["assets", "busybox"], { contexts })).toEqual(["busybox", `127.0.0.1:5000/t@sha256:${"a".repeat(64)}`]);
    expect(withNamedContexts(undefined, { contexts })).toBeUndefined();
    expect(withNamedContexts(["busybox"], {})).toEqual(["busybox"]);
  });
});
