import { describe, expect, test } from "bun:test";
import { AUTO_DESCRIPTION, AUTO_FALLBACK, AUTO_ORDER, builtinFlavors } from "./builtins.ts";

describe("the built-in list is the one list of flavor names", () => {
  test("auto probes the engines in list order and falls back to the daemonless last one", () => {
    expect(builtinFlavors.map((f) => f.name)).toEqual([...AUTO_ORDER, AUTO_FALLBACK]);
    expect(AUTO_ORDER).toEqual(["docker", "podman", "buildah"]);
    expect(AUTO_FALLBACK).toBe("oci");
    expect(AUTO_DESCRIPTION).toBe("The first engine found (docker, podman, buildah), else oci.");
  });
  test("the fallback needs no engine: its probe answers on any machine", async () => {
    const fallback = builtinFlavors.find((f) => f.name === AUTO_FALLBACK)!;
    expect(await fallback.probe!({} as never)).toEqual({ available: true });
    for (const f of builtinFlavors) expect(f.capabilities?.multiPlatform).toBe(true);
  });
});
