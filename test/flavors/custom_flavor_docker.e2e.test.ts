/**
 * The example custom flavor (examples/custom-flavor, "stamped") end to end: copied outside the
 * repository, registered with the compiled binary, used by a stack to build and push a real
 * image with the private dockerd; the image is inspected for the stamped file and labels.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, REGISTRY, registryDigest, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const docker = (...args: string[]) => {
  const p = Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, ...args]);
  if (p.exitCode !== 0) throw new Error(`docker ${args.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString().trim();
};

describe.skipIf(!(await requireEngine("docker", "registry")))("example custom flavor 'stamped' with docker", () => {
  test("register, build, push; the image carries the generated VERSION and labels", async () => {
    const dir = tempDir("imgb-stamped-");
    cpSync(join(repoRoot, "examples/custom-flavor"), dir, { recursive: true });
    const repo = uniqueRepo("stamped");
    writeTree(dir, {
      "e2e.yaml": `image_builder:
  flavor: stamped
  config:
    version: 2.5.1-rc.1
    vendor: imgb tests
    docker: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}", builder: buildkit }
container_registry:
  uri: ${REGISTRY}
images:
  ${repo}:
    context: app
    build_args: { BASE: "${BASE_IMAGE}" }
    network: none
`,
    });
    const env = { IMGB_HOME: tempDir("imgb-home-") };
    const reg = await runImgb(["flavor", "register", join(dir, "stamped_flavor.ts")], { env });
    expect(reg.code).toBe(0);

    const r = await runImgb(["build", "-f", join(dir, "e2e.yaml")], { env });
    expect(r.code).toBe(0);
    const ref = r.stdout.trim();
    expect(ref).toMatch(new RegExp(`^${REGISTRY}/${repo}@sha256:[0-9a-f]{64}$`));
    expect(ref.split("@")[1]).toBe(await registryDigest(REGISTRY, repo, "latest"));

    const labels = JSON.parse(docker("image", "inspect", "--format", "{{json .Config.Labels}}", `${REGISTRY}/${repo}:latest`));
    expect(labels).toMatchObject({ "org.opencontainers.image.version": "2.5.1-rc.1", "org.opencontainers.image.vendor": "imgb tests" });
    const out = docker("run", "--rm", "--network=none", `${REGISTRY}/${repo}:latest`);
    expect(out).toBe("2.5.1-rc.1");
  }, E2E_TIMEOUT);
});
