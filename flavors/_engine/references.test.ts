import { describe, expect, test } from "bun:test";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { InputError } from "../../src/errors.ts";
import { commonBuildFlags, singlePlatform } from "./flags.ts";
import { imageReferences, tagOf } from "./references.ts";

describe("image references", () => {
  test("tagOf keeps registry ports apart from tags", () => {
    expect(tagOf("app")).toBe("latest");
    expect(tagOf("app:v1")).toBe("v1");
    expect(tagOf("127.0.0.1:5000/app")).toBe("latest");
    expect(tagOf("127.0.0.1:5000/app:v2")).toBe("v2");
  });

  test("local and registry references, primary first, no duplicates", () => {
    expect(imageReferences("app", { tags: ["v1", "latest"] })).toEqual({ primary: "app:latest", all: ["app:latest", "app:v1"], repository: undefined });
    const r = imageReferences("app:dev", { tags: ["v1"] }, { uri: "127.0.0.1:5000/team", insecure: true });
    expect(r).toEqual({ primary: "127.0.0.1:5000/team/app:dev", all: ["127.0.0.1:5000/team/app:dev", "127.0.0.1:5000/team/app:v1"], repository: "127.0.0.1:5000/team/app" });
  });
});

describe("flags", () => {
  test("build args and labels sorted, target, no-cache, network", () => {
    const o = defaultBuildOptions({ buildArgs: { Z: "1", A: "x y" }, labels: { "org.b": "2", "org.a": "1" }, target: "final", noCache: true, network: "none" });
    expect(commonBuildFlags(o)).toEqual(["--build-arg", "A=x y", "--build-arg", "Z=1", "--label", "org.a=1", "--label", "org.b=2", "--target", "final", "--no-cache", "--network=none"]);
    expect(commonBuildFlags(defaultBuildOptions({ network: "default" }))).toEqual([]);
  });

  test("one platform passes, several are rejected with the engine named", () => {
    expect(singlePlatform("docker", defaultBuildOptions({ platforms: ["linux/arm64"] }))).toEqual(["--platform", "linux/arm64"]);
    expect(() => singlePlatform("docker", defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }))).toThrow(InputError);
    expect(() => singlePlatform("podman", defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }))).toThrow(
      "The podman flavor cannot build several platforms into one image: got 'linux/amd64', 'linux/arm64'",
    );
  });
});
