/** The podman/buildah argv's named contexts: one --build-context per context, directories as paths, images as docker-image://. */
import { describe, expect, test } from "bun:test";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { containersBuildArgv, namedContextFlags } from "./build_argv.ts";

describe("named contexts in the podman/buildah argv", () => {
  const options = defaultBuildOptions({ contexts: [{ name: "assets", directory: "/work/assets" }, { name: "tools", image: "busybox:1" }] });

  test("--build-context NAME=DIR and NAME=docker-image://REF", () => {
    expect(namedContextFlags(options)).toEqual(["--build-context", "assets=/work/assets", "--build-context", "tools=docker-image://busybox:1"]);
    expect(namedContextFlags(defaultBuildOptions())).toEqual([]);
  });

  test("before the tags and the context directory", () => {
    const argv = containersBuildArgv({ engine: "podman", prefix: ["podman"], subcommand: "build", layers: true }, "/ctx", "Dockerfile", ["app:latest"], options, "/tmp/iid");
    expect(argv.slice(argv.indexOf("--build-context"), argv.indexOf("--build-context") + 4)).toEqual(["--build-context", "assets=/work/assets", "--build-context", "tools=docker-image://busybox:1"]);
    expect(argv.indexOf("--build-context")).toBeLessThan(argv.indexOf("-t"));
    expect(argv.at(-1)).toBe("/ctx");
  });
});
