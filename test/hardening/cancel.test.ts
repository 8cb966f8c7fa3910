/**
 * Ctrl-C at every stage of `imgb build` (docker flavor, pushing to the test registry): SIGINT and
 * SIGTERM while the context checksum is computed, while the engine runs a RUN step, and while the
 * image is pushed; SIGINT during a RUN step on podman and buildah too. Each time: exit code 130, one error line at the end and no stack trace, no
 * temp files in the binary's private TMPDIR, the RUN process gone, and no tag in the registry
 * (a half-pushed image must not be reachable by its tag). The rules are _harness.ts's.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { randomFillSync } from "node:crypto";
import { closeSync, openSync, ftruncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, processesLeft, REGISTRY, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { expectCleanFailure } from "./_harness.ts";

afterAll(cleanupTempDirs);

const DOCKER = `{ flavor: docker, config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}", builder: buildkit } }`;

/** A stack of one image `repo` whose context holds `files`; a private IMGB_HOME (no reuse). */
function stack(repo: string, dockerfile: string, files: Record<string, Uint8Array | number> = {}, builder = DOCKER) {
  const dir = tempDir("imgb-cancel-");
  writeFileSync(join(dir, "Dockerfile"), dockerfile);
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === "number") {
      const fd = openSync(join(dir, name), "w"); // sparse: `content` bytes that cost no disk
      ftruncateSync(fd, content);
      closeSync(fd);
    } else writeFileSync(join(dir, name), content);
  }
  writeFileSync(
    join(dir, "imgb.yaml"),
    `image_builder: ${builder}\ncontainer_registry:\n  uri: ${REGISTRY}\nimages:\n  ${repo}:\n    context: .\n    network: none\n`,
  );
  return { dir, env: { IMGB_HOME: tempDir("imgb-cancel-home-") } };
}

async function tagStatus(repo: string): Promise<number> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/latest`, { method: "HEAD", headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json" } });
  return res.status;
}

const signals = ["SIGINT", "SIGTERM"] as const;

/** Interrupt a RUN step; afterwards its process is gone and nothing was pushed. */
async function interruptRun(signal: (typeof signals)[number], builder: string) {
  const repo = uniqueRepo("cancel-run");
  const marker = `imgb-hardening-${Date.now()}`;
  const sleep = `sleep ${100 + Math.floor(Math.random() * 900)}`; // a length of its own: other runs' steps are not ours
  const { dir, env } = stack(repo, `FROM imgb-test/busybox:latest\nRUN echo ${marker} && ${sleep} && echo done\n`, {}, builder);
  await expectCleanFailure({
    args: ["build", "--progress", "plain"],
    cwd: dir,
    env: { ...env, STORAGE_DRIVER: process.env.STORAGE_DRIVER },
    code: 130,
    outputBefore: true,
    unchanged: [dir],
    interrupt: { signal, when: (s) => s.split("\n").some((l) => l.includes(marker) && !l.includes("RUN")) },
  });
  const left = await processesLeft((l) => l.trim() === sleep || l.includes(marker)); // BuildKit cancels the step asynchronously
  expect(left).toEqual([]);
  expect(await tagStatus(repo)).toBe(404);
}

describe.skipIf(!(await requireEngine("docker", "registry")))("Ctrl-C during imgb build (docker)", () => {
  for (const signal of signals) {
    test(`${signal} while the context checksum is computed`, async () => {
      const repo = uniqueRepo("cancel-checksum");
      const { dir, env } = stack(repo, "FROM imgb-test/busybox:latest\nCOPY . /ctx\n", { huge: 512 << 20 });
      const r = await expectCleanFailure({
        args: ["build", "--progress", "plain"],
        cwd: dir,
        env,
        code: 130,
        outputBefore: true,
        unchanged: [dir],
        interrupt: { signal, when: (s) => s.includes("=> checksum") },
      });
      expect(r.stderr).not.toContain("=> build"); // it was cancelled in the checksum, not later
      expect(await tagStatus(repo)).toBe(404);
    }, E2E_TIMEOUT);

    test(`${signal} while the engine runs a RUN step`, () => interruptRun(signal, DOCKER), E2E_TIMEOUT);

    test(`${signal} while the image is pushed: no tag left behind`, async () => {
      const repo = uniqueRepo("cancel-push");
      const big = new Uint8Array(64 << 20);
      for (let o = 0; o < big.length; o += 1 << 16) randomFillSync(big, o, 1 << 16); // incompressible: a long push
      const { dir, env } = stack(repo, "FROM imgb-test/busybox:latest\nCOPY big /big\n", { big });
      const r = await expectCleanFailure({
        args: ["build", "--progress", "plain"],
        cwd: dir,
        env,
        code: 130,
        outputBefore: true,
        unchanged: [dir],
        interrupt: { signal, when: (s) => s.includes("The push refers to repository") },
      });
      expect(r.stderr).not.toMatch(/latest: digest: sha256:/); // the push was cut, not finished
      await Bun.sleep(2000); // a daemon that kept pushing after its client left would tag by now
      expect(await tagStatus(repo)).toBe(404);
    }, E2E_TIMEOUT);
  }
});

for (const [engine, builder] of [
  ["podman", "{ flavor: podman, config: { binary: podman } }"],
  ["buildah", "{ flavor: buildah, config: { binary: buildah } }"],
] as const) {
  describe.skipIf(!(await requireEngine(engine, "registry")))(`Ctrl-C during imgb build (${engine})`, () => {
    test("SIGINT while the engine runs a RUN step", () => interruptRun("SIGINT", builder), E2E_TIMEOUT);
  });
}
