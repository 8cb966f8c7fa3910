import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { InputErrors } from "../errors.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { loadStack } from "./load.ts";
import { Type } from "@sinclair/typebox";
import { defineFlavor } from "../builder/flavor.ts";
import { FlavorCatalog } from "../catalog/catalog.ts";

afterAll(cleanupTempDirs);

async function load(yaml: string, catalog?: FlavorCatalog) {
  const dir = tempDir("imgb-nodes-");
  writeTree(dir, { "imgb.yaml": yaml, Dockerfile: "FROM scratch\n" });
  return loadStack(join(dir, "imgb.yaml"), { env: {}, cwd: dir, ...(catalog ? { catalog } : {}) });
}

async function errors(yaml: string, catalog?: FlavorCatalog): Promise<string[]> {
  try {
    await load(yaml, catalog);
  } catch (e) {
    if (e instanceof InputErrors) return e.errors.map((x) => `${x.location?.line}:${x.location?.col} ${x.message}${x.hint ? ` [${x.hint}]` : ""}`);
    throw e;
  }
  return [];
}

const registry = "container_registry: { uri: 127.0.0.1:5000 }\n";
const images = "images:\n  app: { context: . }\n";

describe("builder nodes in the stack", () => {
  test("each node is the shared config with its connection keys; nodes and emulation leave the config", async () => {
    const stack = await load(`image_builder:
  flavor: docker
  config:
    binary: /usr/bin/docker
    builder: classic
    nodes:
      - { host: "ssh://ci@amd1", platforms: [linux/amd64] }
      - { name: arm, host: "tcp://10.0.0.7:2376", tls_verify: true, platforms: [linux/arm64] }
    emulation: allow
${registry}${images}`);
    expect(stack.imageBuilder.config).toEqual({ binary: "/usr/bin/docker", builder: "classic" });
    expect(stack.imageBuilder.emulation).toBe("allow");
    expect(stack.imageBuilder.nodes).toEqual([
      { name: "ssh://ci@amd1", config: { binary: "/usr/bin/docker", builder: "classic", host: "ssh://ci@amd1" }, platforms: ["linux/amd64"] },
      { name: "arm", config: { binary: "/usr/bin/docker", builder: "classic", host: "tcp://10.0.0.7:2376", tls_verify: true }, platforms: ["linux/arm64"] },
    ]);
  });

  test("podman nodes take url or connection; emulation defaults to deny; one config stays as it was", async () => {
    const stack = await load(`image_builder: { flavor: podman, config: { nodes: [ { url: "unix:///run/a.sock" }, { connection: arm1 } ] } }\n${registry}${images}`);
    expect(stack.imageBuilder.nodes?.map((n) => [n.name, n.config.url ?? n.config.connection])).toEqual([["unix:///run/a.sock", "unix:///run/a.sock"], ["arm1", "arm1"]]);
    expect(stack.imageBuilder.emulation).toBe("deny");
    const single = await load(`image_builder: { flavor: docker, config: { host: "tcp://127.0.0.1:2375" } }\n${images}`);
    expect(single.imageBuilder).toEqual({ flavor: "docker", config: { binary: "docker", builder: "auto", host: "tcp://127.0.0.1:2375" } });
  });

  test("several nodes without a registry are refused at the nodes key, with the reason", async () => {
    const [e, ...rest] = await errors(`image_builder:\n  flavor: docker\n  config:\n    nodes: [ { host: "tcp://a:2375" }, { host: "tcp://b:2375" } ]\n${images}`);
    expect(rest).toEqual([]);
    expect(e).toStartWith("4:5 A builder with 2 nodes needs a container_registry");
    expect(e).toContain("[add container_registry:");
  });

  test("a node key that is not a connection key, a bad platform, a duplicate name, nodes on a flavor without nodes", async () => {
    expect(await errors(`image_builder:\n  flavor: docker\n  config:\n    nodes:\n      - { host: "tcp://a:2375", builder: classic }\n${registry}${images}`)).toEqual([
      expect.stringMatching(/^5:\d+ .*'builder'/),
    ]);
    expect((await errors(`image_builder:\n  flavor: docker\n  config:\n    nodes:\n      - { host: "tcp://a:2375", platforms: [amd64] }\n${registry}${images}`))[0]).toMatch(/^5:\d+ /);
    expect(await errors(`image_builder:\n  flavor: docker\n  config:\n    nodes:\n      - { host: "tcp://a:2375" }\n      - { host: "tcp://a:2375" }\n${registry}${images}`)).toEqual([
      "6:9 Builder nodes 1 and 2 are both named 'tcp://a:2375' [give each node its own address, or a `name`]",
    ]);
    expect((await errors(`image_builder: { flavor: oci, config: { nodes: [ { host: x } ] } }\n${registry}${images}`))[0]).toContain("'nodes'");
  });

  test("a custom flavor with nodeKeys gets nodes the same way", async () => {
    const catalog = FlavorCatalog.withBuiltins();
    catalog.add(defineFlavor({ contractVersion: 2, name: "remote", type: "image_builder", description: "", nodeKeys: ["endpoint"], config: Type.Object({ endpoint: Type.String({ default: "local" }), level: Type.Integer({ default: 1 }) }, { additionalProperties: false }), implementation: async () => { throw new Error("not loaded"); } }), "/x/remote.ts", {});
    const stack = await load(`image_builder: { flavor: remote, config: { level: 3, nodes: [ { endpoint: e1 }, { endpoint: e2, platforms: [linux/arm64] } ] } }\n${registry}${images}`, catalog);
    expect(stack.imageBuilder.nodes).toEqual([
      { name: "e1", config: { endpoint: "e1", level: 3 } },
      { name: "e2", config: { endpoint: "e2", level: 3 }, platforms: ["linux/arm64"] },
    ]);
    // A node sets connection keys only: `level` is shared.
    expect((await errors(`image_builder: { flavor: remote, config: { nodes: [ { level: 2 } ] } }\n${registry}${images}`, catalog))[0]).toContain("'level'");
  });
});
