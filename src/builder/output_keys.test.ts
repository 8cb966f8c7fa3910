import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import docker from "../../flavors/docker/flavor.ts";
import podman from "../../flavors/podman/flavor.ts";
import buildah from "../../flavors/buildah/flavor.ts";
import oci from "../../flavors/oci/flavor.ts";
import { OUTPUT_KEY, outputConfig, outputKeys } from "./output_keys.ts";

describe("output keys", () => {
  test("each built-in flavor marks what changes the image, not where the engine runs", () => {
    expect(outputKeys(docker.config)).toEqual(["builder"]);
    expect(outputKeys(podman.config)).toEqual(["format"]);
    expect(outputKeys(buildah.config)).toEqual(["format", "isolation"]);
    expect(outputKeys(oci.config)).toEqual(["compression_level", "output", "platform"]);
  });

  test("machine-only keys (binary, daemon address, storage roots, config dir) drop out", () => {
    const a = outputConfig(docker.config, { binary: "/usr/bin/docker", host: "unix:///run/a.sock", config_dir: "/home/a/.docker", builder: "buildkit" });
    const b = outputConfig(docker.config, { binary: "/opt/wrap/docker", host: "tcp://10.0.0.5:2375", builder: "buildkit" });
    expect(a).toEqual({ builder: "buildkit" });
    expect(b).toEqual(a);
    expect(outputConfig(podman.config, { root: "/a", runroot: "/ra", binary: "podman", format: "oci" })).toEqual(outputConfig(podman.config, { root: "/b", runroot: "/rb", binary: "/x/podman", format: "oci" }));
    expect(outputConfig(docker.config, { builder: "classic" })).not.toEqual(a);
  });

  test("a schema that marks nothing is taken whole (a custom flavor that says nothing stays safe)", () => {
    const schema = Type.Object({ binary: Type.String(), mode: Type.String() });
    expect(outputKeys(schema)).toBeUndefined();
    expect(outputConfig(schema, { binary: "x", mode: "y" })).toEqual({ binary: "x", mode: "y" });
    const marked = Type.Object({ binary: Type.String(), mode: Type.String({ [OUTPUT_KEY]: true }) });
    expect(outputConfig(marked, { binary: "x", mode: "y" })).toEqual({ mode: "y" });
  });

  test("a flavor's node keys (which engine builds) never enter, even from a schema that marks nothing", () => {
    const schema = Type.Object({ host: Type.String(), mode: Type.String() });
    expect(outputConfig(schema, { host: "ssh://a", mode: "y" }, ["host"])).toEqual({ mode: "y" });
    expect(outputConfig(docker.config, { host: "ssh://a", ssh_config: "/a", builder: "buildkit" }, docker.nodeKeys)).toEqual({ builder: "buildkit" });
  });
});
