/**
 * The engine is probed when an image first needs it (src/orchestrate/engine_gate.ts), against the
 * test dockerd and registry. Machine A builds and pushes a two-image stack; machine B, whose
 * docker host is a socket with no daemon behind it, then reuses both from the registry without
 * the engine (no `docker version`, no build), and when a file changed fails in one line, once,
 * before anything is built.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { exec } from "../../src/exec.ts";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, REGISTRY, RUN_DIR, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

const ns = uniqueRepo("gate");
const baseRef = `${REGISTRY}/${ns}/busybox:1`;
const nowhere = `unix://${RUN_DIR}/no-daemon-here.sock`;

const files = (host: string, docker: string): Record<string, string> => ({
  "imgb.yaml": `
image_builder: { flavor: docker, config: { binary: "${docker}", host: "${host}" } }
container_registry: { uri: ${REGISTRY}/${ns} }
images:
  root: { context: root, network: none }
  leaf: { context: leaf, network: none, build_args: { BASE: "\${images.root.ref}" } }
`,
  "root/Dockerfile": `FROM ${baseRef}\nCOPY f.txt /f.txt\n`,
  "root/f.txt": "root\n",
  "leaf/Dockerfile": "ARG BASE\nFROM $BASE\nCOPY f.txt /leaf.txt\n",
  "leaf/f.txt": "leaf\n",
});

/** A docker CLI that logs its arguments, one call a line. */
function loggingDocker(): { path: string; calls: () => string[] } {
  const dir = tempDir("imgb-gate-cli-");
  const path = join(dir, "docker");
  const log = join(dir, "calls.log");
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${log}'\nexec ${DOCKER_CLI} "$@"\n`);
  chmodSync(path, 0o755);
  return { path, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : []) };
}

const ready = await requireEngine("docker", "registry");

describe.skipIf(!ready)("the engine probe waits for an image that needs the engine", () => {
  const made: string[] = [];
  beforeAll(async () => {
    await exec([DOCKER_CLI, "-H", DOCKER_HOST, "tag", BASE_IMAGE, baseRef]);
    made.push(baseRef);
    await exec([DOCKER_CLI, "-H", DOCKER_HOST, "push", baseRef]);
    const a = tempDir("imgb-gate-a-");
    writeTree(a, files(DOCKER_HOST, DOCKER_CLI));
    const r = await runImgb(["build", "--progress", "plain"], { cwd: a, env: { IMGB_HOME: tempDir("imgb-gate-home-a-") } });
    if (r.code !== 0) throw new Error(`machine A's build failed (${r.code}):\n${r.stderr}`);
    made.push(`${REGISTRY}/${ns}/root:latest`, `${REGISTRY}/${ns}/leaf:latest`);
  }, E2E_TIMEOUT);
  afterAll(async () => {
    await exec([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", ...made]).catch(() => {});
    cleanupTempDirs();
  }, E2E_TIMEOUT);

  test("every image reused from the registry: no probe, no build, even with no daemon there", async () => {
    const docker = loggingDocker();
    const b = join(tempDir("imgb-gate-b-"), "elsewhere");
    writeTree(b, files(nowhere, docker.path));
    const meta = join(b, "meta.json");
    const r = await runImgb(["build", "--progress", "plain", "--metadata-file", meta], { cwd: b, env: { IMGB_HOME: tempDir("imgb-gate-home-b-") } });
    expect(r.stderr).not.toContain("error:");
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(meta, "utf8")) as Record<string, { reused: boolean }>;
    expect(Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.reused]))).toEqual({ root: true, leaf: true });
    expect(docker.calls().filter((c) => /^(version|build|buildx|push|tag)\b/.test(c))).toEqual([]);
  }, E2E_TIMEOUT);

  test("a file changed: the probe runs once, on the image that needs a build, and the run fails in one line before anything is built", async () => {
    const docker = loggingDocker();
    const b = join(tempDir("imgb-gate-b2-"), "elsewhere");
    writeTree(b, { ...files(nowhere, docker.path), "leaf/f.txt": `changed ${Date.now()}\n` });
    const r = await runImgb(["build", "--progress", "plain"], { cwd: b, env: { IMGB_HOME: tempDir("imgb-gate-home-b2-") } });
    expect(r.code).not.toBe(0);
    const errors = r.stderr.split("\n").filter((l) => l.includes("error"));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toStartWith(`error: The Docker daemon at ${nowhere} is not reachable`);
    expect(errors[0]).toContain("(checked before building: nothing was built)");
    expect(r.stderr).not.toContain("RESULT"); // no summary table of per-image failures
    expect(r.stdout).toBe("");
    const calls = docker.calls();
    expect(calls.filter((c) => c.startsWith("version"))).toHaveLength(1);
    expect(calls.filter((c) => /^(build|buildx|push)\b/.test(c))).toEqual([]);
  }, E2E_TIMEOUT);
});
