import { describe, expect, test } from "bun:test";
import { daemonPlatform, normalizePlatform, platformBuildArgs } from "./platform_args.ts";
import { platformsWithoutRegistry } from "./platforms_check.ts";
import { parseDockerfile } from "../../src/dockerfile/parse.ts";

describe("BuildKit's platform args for the classic builder", () => {
  test("target and build platform, variant empty when there is none (as BuildKit sets them)", () => {
    expect(platformBuildArgs({ os: "linux", architecture: "arm", variant: "v7" }, { os: "linux", architecture: "amd64" })).toEqual({
      TARGETPLATFORM: "linux/arm/v7",
      TARGETOS: "linux",
      TARGETARCH: "arm",
      TARGETVARIANT: "v7",
      BUILDPLATFORM: "linux/amd64",
      BUILDOS: "linux",
      BUILDARCH: "amd64",
      BUILDVARIANT: "",
    });
  });

  test("a build arg the stack sets wins: it is left out", () => {
    const args = platformBuildArgs({ os: "linux", architecture: "arm64" }, { os: "linux", architecture: "amd64" }, { TARGETARCH: "mine", OTHER: "x" });
    expect(args.TARGETARCH).toBeUndefined();
    expect(args.OTHER).toBeUndefined();
    expect(args.TARGETPLATFORM).toBe("linux/arm64");
  });

  test("platforms normalised like containerd: arm64/v8 is arm64, arm is arm/v7, the daemon's x86_64 is amd64", () => {
    expect(normalizePlatform("linux/arm64/v8")).toEqual({ os: "linux", architecture: "arm64" });
    expect(normalizePlatform("linux/arm")).toEqual({ os: "linux", architecture: "arm", variant: "v7" });
    expect(normalizePlatform("linux/arm/v6")).toEqual({ os: "linux", architecture: "arm", variant: "v6" });
    expect(normalizePlatform("Linux/AMD64")).toEqual({ os: "linux", architecture: "amd64" });
    expect(daemonPlatform("linux/x86_64\n")).toEqual({ os: "linux", architecture: "amd64" });
    expect(daemonPlatform("linux/aarch64")).toEqual({ os: "linux", architecture: "arm64" });
  });
});

describe("several platforms need a registry", () => {
  const image = (platforms: string[], containerRegistry?: string) => ({ name: "app", dockerfile: parseDockerfile("FROM scratch\n", "Dockerfile"), dockerfilePath: "Dockerfile", buildArgs: {}, platforms, extraFlags: [], ...(containerRegistry ? { containerRegistry } : {}) });

  test("refused at /images/NAME/platforms without one; fine with one, or with one platform (listed twice is one)", () => {
    const [e] = platformsWithoutRegistry(image(["linux/amd64", "linux/arm64"]));
    expect(e?.code).toBe("build.platforms-need-registry");
    expect(e?.location).toEqual({ path: "/images/app/platforms" });
    expect(platformsWithoutRegistry(image(["linux/amd64", "linux/arm64"], "127.0.0.1:5000"))).toEqual([]);
    expect(platformsWithoutRegistry(image(["linux/amd64"]))).toEqual([]);
    expect(platformsWithoutRegistry(image(["linux/amd64", "linux/amd64"]))).toEqual([]);
  });
});
