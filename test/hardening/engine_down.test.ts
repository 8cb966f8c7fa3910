/**
 * Engine down: `imgb build` against a docker daemon socket that does not exist, a podman service
 * that is not reachable, and an engine binary that is not installed. Each is ONE clear line
 * naming what is unreachable (socket/URL or binary) with a hint, exit code 1, no stack trace,
 * no temp files, the stack directory untouched (see _harness.ts for every rule). The engine is
 * probed when the first image needs it (engine_gate.ts), so the image's progress lines up to its
 * build step come first: nothing else, and no engine output.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DOCKER_CLI, E2E_TIMEOUT, requireTool } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { expectCleanFailure } from "./_harness.ts";

afterAll(cleanupTempDirs);

const haveDocker = await requireTool("docker", () => (Bun.which(DOCKER_CLI) ? undefined : `${DOCKER_CLI} is missing (package docker.io)`));
const havePodman = await requireTool("podman");

/** The lines before the error line: the image's own steps up to its build, nothing from an engine. */
function onlyProgressBefore(stderr: string): void {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  const before = lines.slice(0, lines.findIndex((l) => /^(\S+: )?error: /.test(l)));
  for (const line of before) expect(line).toMatch(/^imgb-e2e\/down \| => (checksum|build)$/);
}

/** A stack directory for `config` of `flavor`; a private IMGB_HOME so no earlier build is reused. */
function stack(flavor: string, config: Record<string, string>): { dir: string; env: Record<string, string> } {
  const dir = tempDir("imgb-down-");
  writeFileSync(join(dir, "Dockerfile"), `FROM imgb-test/busybox:latest\nRUN echo ${Date.now()}\n`);
  writeFileSync(join(dir, "imgb.yaml"), `image_builder:\n  flavor: ${flavor}\n  config: ${JSON.stringify(config)}\nimages:\n  imgb-e2e/down:\n    context: .\n    network: none\n`);
  return { dir, env: { IMGB_HOME: tempDir("imgb-down-home-") } };
}

describe.skipIf(!haveDocker)("docker engine down", () => {
  test("a daemon socket that does not exist: one line naming it", async () => {
    const sock = join(tempDir("imgb-nosock-"), "docker.sock");
    const { dir, env } = stack("docker", { binary: DOCKER_CLI, host: `unix://${sock}` });
    const r = await expectCleanFailure({ args: ["build"], cwd: dir, env, code: 1, outputBefore: true, unchanged: [dir] });
    onlyProgressBefore(r.stderr);
    expect(r.errorLine).toContain(sock);
    expect(r.errorLine).toMatch(/not reachable/i);
    expect(r.errorLine).toContain("hint:");
  }, E2E_TIMEOUT);

  test("a docker binary that is not installed: one line naming it", async () => {
    const { dir, env } = stack("docker", { binary: "/nonexistent/imgb-docker" });
    const r = await expectCleanFailure({ args: ["build"], cwd: dir, env, code: 1, outputBefore: true, unchanged: [dir] });
    onlyProgressBefore(r.stderr);
    expect(r.errorLine).toContain("/nonexistent/imgb-docker");
  }, E2E_TIMEOUT);
});

describe.skipIf(!havePodman)("podman service down", () => {
  test("a service URL nobody listens on: one line naming it", async () => {
    const sock = join(tempDir("imgb-nosock-"), "podman.sock");
    const { dir, env } = stack("podman", { binary: "podman", url: `unix://${sock}` });
    const r = await expectCleanFailure({ args: ["build"], cwd: dir, env, code: 1, outputBefore: true, unchanged: [dir] });
    onlyProgressBefore(r.stderr);
    expect(r.errorLine).toContain(sock);
    expect(r.errorLine).toMatch(/not reachable/i);
  }, E2E_TIMEOUT);
});
