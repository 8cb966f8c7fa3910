import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import ociFlavor from "../../flavors/oci/flavor.ts";
import dockerFlavor from "../../flavors/docker/flavor.ts";
import type { AnyFlavor } from "../builder/flavor.ts";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { RuntimeError } from "../errors.ts";
import { loadStack } from "../stack/load.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { runBuild } from "./run_build.ts";
import { usesStackRegistry } from "./registry_use.ts";

afterAll(cleanupTempDirs);

const oci: AnyFlavor = ociFlavor;
const docker: AnyFlavor = dockerFlavor;

/** Nothing listens on port 1: a GET /v2/ there is refused at once. */
const DEAD = "127.0.0.1:1";

async function ociStack(output: string, dockerfile: string) {
  const dir = tempDir("imgb-registry-use-");
  writeTree(dir, {
    "imgb.yaml": `image_builder: { flavor: oci, config: { output: "${output}" } }\ncontainer_registry: { uri: "${DEAD}" }\nimages:\n  app: { context: ctx }\n`,
    "ctx/Dockerfile": dockerfile,
    "ctx/a.txt": "a\n",
  });
  const stack = await loadStack(join(dir, "imgb.yaml"), { env: {}, cwd: dir });
  // No credentials in these stacks: the resolved registry is the one the builders get.
  return { dir, stack, registry: stack.containerRegistry as ContainerRegistry };
}

describe("probing the stack registry only when the run uses it", () => {
  test("oci to an oci-layout from scratch: the registry being down does not matter, the layout is written", async () => {
    const layout = join(tempDir("imgb-registry-use-out-"), "layout");
    const { stack } = await ociStack(`oci-layout:${layout}`, "FROM scratch\nCOPY a.txt /\n");
    const run = await runBuild(stack, oci, { images: [], signal: new AbortController().signal, env: {}, jobs: 1, events: () => {} });
    const outcome = run.outcomes.get("app")!;
    expect(outcome.state).toBe("done");
    expect(existsSync(join(layout, "index.json"))).toBe(true);
  });

  test("oci pushing (the default output): the dead registry fails the run before anything is built", async () => {
    const { stack, registry } = await ociStack("registry", "FROM scratch\nCOPY a.txt /\n");
    expect(usesStackRegistry(stack, oci, ["app"], registry)).toBe(true);
    const err = await runBuild(stack, oci, { images: [], signal: new AbortController().signal, env: {}, jobs: 1, events: () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toEndWith("(checked before building: nothing was built)");
  });

  test("oci to an archive, with a base image (or a build-arg base) from the stack registry: probed", async () => {
    const layout = `oci-layout:${join(tempDir("imgb-registry-use-out-"), "layout")}`;
    const direct = await ociStack(layout, `FROM ${DEAD}/base:1\nCOPY a.txt /\n`);
    expect(usesStackRegistry(direct.stack, oci, ["app"], direct.registry)).toBe(true);
    const viaArg = await ociStack(layout, `ARG BASE=${DEAD}/base:1\nFROM scratch AS unused\nFROM $BASE\nCOPY a.txt /\n`);
    expect(usesStackRegistry(viaArg.stack, oci, ["app"], viaArg.registry)).toBe(true);
    const elsewhere = await ociStack(layout, "FROM example.org/base:1 AS b\nFROM b\nCOPY a.txt /\n");
    expect(usesStackRegistry(elsewhere.stack, oci, ["app"], elsewhere.registry)).toBe(false);
  });

  test("a flavor that does not say always counts as pushing; an unparsable Dockerfile is probed", async () => {
    const { stack, registry } = await ociStack("oci-layout:x", "FROM scratch\n");
    expect(usesStackRegistry(stack, docker, ["app"], registry)).toBe(true);
    const bad = await ociStack("oci-layout:x", "FROM\n");
    expect(usesStackRegistry(bad.stack, oci, ["app"], bad.registry)).toBe(true);
  });
});
