/**
 * A stack without image_builder (or `flavor: auto`): the first engine that answers its probe,
 * else the daemonless oci flavor — here proven with no engine on PATH at all, pushing a real
 * image to the test registry.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { runImgb } from "../helpers/binary.ts";
import { E2E_TIMEOUT, REGISTRY, registryDigest, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

describe("flavor: auto", () => {
  test("validate accepts a stack without image_builder", async () => {
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": "images:\n  app: { dockerfile_inline: 'FROM scratch' }\n" });
    const r = await runImgb(["validate"], { cwd: dir });
    expect(r.stderr).toContain("valid (flavor auto");
    expect(r.code).toBe(0);
  });
});

describe.skipIf(!(await requireEngine("registry")))("flavor: auto with no engine installed", () => {
  test("falls back to oci and pushes", async () => {
    const dir = tempDir();
    const repo = uniqueRepo("auto");
    writeTree(dir, {
      "imgb.yaml": `container_registry: { uri: ${REGISTRY} }\nimages:\n  ${repo}: { context: . }\n`,
      Dockerfile: "FROM scratch\nCOPY hello.txt /hello.txt\nENV GREETING=hi\n",
      "hello.txt": "hello\n",
    });
    const emptyPath = tempDir("imgb-nopath-");
    const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env: { PATH: emptyPath, IMGB_HOME: tempDir() } });
    expect(r.stderr).toContain("image builder: oci (auto; passed over docker, podman, buildah)");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`${REGISTRY}/${repo}@${await registryDigest(REGISTRY, repo, "latest")}`);
  }, E2E_TIMEOUT);
});
