/**
 * The checksum is machine-independent (issue #15): two checkouts at different paths, with their
 * own stores (IMGB_HOME) and different daemon addresses of the same docker (unix socket, tcp),
 * plan the same checksums. A base image found only in the local engine makes an image's checksum
 * local: `imgb print` says registry reuse is off for it, and why.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { exec } from "../../src/exec.ts";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, DOCKER_TCP, E2E_TIMEOUT, REGISTRY, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

const ns = uniqueRepo("portable");
const remoteBase = `${REGISTRY}/${ns}/busybox:1`;

function checkout(name: string, host: string, binary: string): { dir: string; home: string } {
  const dir = join(tempDir(`imgb-portable-${name}-`), "src", name);
  writeTree(dir, {
    "imgb.yaml": `
image_builder: { flavor: docker, config: { binary: "${binary}", host: "${host}", config_dir: "${join(dir, ".docker")}" } }
container_registry: { uri: ${REGISTRY}/${ns} }
images:
  remote: { context: remote }
  local: { context: local }
`,
    "remote/Dockerfile": `FROM ${remoteBase}\nCOPY a.txt /a.txt\n`,
    "remote/a.txt": "a\n",
    "local/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY a.txt /a.txt\n`,
    "local/a.txt": "a\n",
  });
  return { dir, home: tempDir(`imgb-portable-home-${name}-`) };
}

type Plan = { image: string; checksum: string; decision: string; reuseFrom?: string; why?: string[] }[];

async function plan(c: { dir: string; home: string }): Promise<Plan> {
  const r = await runImgb(["print"], { cwd: c.dir, env: { IMGB_HOME: c.home } });
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).plan as Plan;
}

describe.skipIf(!(await requireEngine("docker", "docker-tcp", "podman", "registry")))("machine-independent checksums", () => {
  afterAll(cleanupTempDirs);

  test("different paths, stores, daemon addresses and CLI paths: the same checksums", async () => {
    await exec(["podman", "push", "--tls-verify=false", BASE_IMAGE, remoteBase]);
    const a = await plan(checkout("a", DOCKER_HOST, DOCKER_CLI));
    const b = await plan(checkout("b", DOCKER_TCP, "docker"));
    const sum = (p: Plan, n: string) => p.find((e) => e.image === n)!;
    expect(sum(b, "remote").checksum).toBe(sum(a, "remote").checksum);
    // The local-only base resolves to the same local image ID through either address.
    expect(sum(b, "local").checksum).toBe(sum(a, "local").checksum);
    expect(sum(a, "remote")).toMatchObject({ decision: "build", reuseFrom: "none" });
    expect(sum(a, "remote").why!.join(" | ")).toContain("registry: no record tag");
    expect(sum(a, "local").why!.join(" | ")).toContain(`registry: off for this image: base image '${BASE_IMAGE}' is not in a registry imgb can reach (only in the local engine)`);
  }, E2E_TIMEOUT);

  test("a local copy of a registry base that is not the registry's image: its local ID counts, registry reuse off, print says why", async () => {
    const stale = `${REGISTRY}/${ns}/stale:1`;
    await exec(["podman", "push", "--tls-verify=false", BASE_IMAGE, stale]); // the registry's image
    await exec([DOCKER_CLI, "-H", DOCKER_HOST, "tag", BASE_IMAGE, stale]); // docker's own, never pulled from there
    try {
      const c = checkout("stale", DOCKER_HOST, DOCKER_CLI);
      writeTree(c.dir, { "remote/Dockerfile": `FROM ${stale}\nCOPY a.txt /a.txt\n` });
      const p = (await plan(c)).find((e) => e.image === "remote")!;
      expect(p.why!.join(" | ")).toContain(`registry: off for this image: the local copy of base image '${stale}'`);
    } finally {
      await exec([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", stale]).catch(() => {});
    }
  }, E2E_TIMEOUT);
});
