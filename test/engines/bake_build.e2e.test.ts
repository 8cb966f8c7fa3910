/**
 * groups, inherits and matrix (issue #17) in a real build, through the compiled binary with the
 * docker engine: `imgb build` with no names builds the `default` group — a matrix definition's
 * images, each with its own build arg and tag, and the keys it inherits — and nothing else;
 * `imgb build GROUP` builds that group. The images are run to see what each was built with.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { runImgb } from "../helpers/binary.ts";
import { exec } from "../../src/exec.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

const docker = (...args: string[]) => exec([DOCKER_CLI, "-H", DOCKER_HOST, ...args]);
const created: string[] = [];
afterAll(async () => {
  for (const ref of created) await docker("rmi", "-f", ref).catch(() => {});
  cleanupTempDirs();
});

describe.skipIf(!(await requireEngine("docker")))("groups, inherits and matrix (docker)", () => {
  test("no names: the default group; a group name: its images", async () => {
    const lib = uniqueRepo("bake-lib");
    const tool = uniqueRepo("bake-tool");
    const dir = tempDir("imgb-bake-build-");
    writeTree(dir, {
      Dockerfile: `FROM ${BASE_IMAGE}\nARG PY\nARG TEAM\nRUN echo "py=$PY team=$TEAM" > /built.txt\n`,
      "imgb.yaml": [
        `image_builder: { flavor: docker, config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" } }`,
        "groups:",
        `  default: [${lib}]`,
        `  tools: [${tool}]`,
        "images:",
        "  common: { context: ., network: none, build_args: { TEAM: core } }",
        `  ${lib}:`,
        "    inherits: common",
        '    matrix: { py: ["3.11", "3.12"] }',
        '    build_args: { PY: "${matrix.py}" }',
        '    tags: ["py${matrix.py}"]',
        `  ${tool}: { inherits: common, build_args: { PY: none } }`,
        "",
      ].join("\n"),
    });
    const env = { IMGB_HOME: tempDir("imgb-bake-home-") };
    const first = await runImgb(["build", "--progress", "plain"], { cwd: dir, env });
    created.push(`${lib}-3.11:py3.11`, `${lib}-3.12:py3.12`, `${tool}:latest`);
    expect({ code: first.code, stderr: first.code === 0 ? "" : first.stderr }).toEqual({ code: 0, stderr: "" });
    expect(first.stdout.trim().split("\n")).toEqual([`${lib}-3.11:py3.11`, `${lib}-3.12:py3.12`]);
    for (const [ref, py] of [[`${lib}-3.11:py3.11`, "3.11"], [`${lib}-3.12:py3.12`, "3.12"]] as const) {
      expect((await docker("run", "--rm", "--network=none", ref, "cat", "/built.txt")).stdout.trim()).toBe(`py=${py} team=core`);
    }
    // Neither the inherited-from image nor the other group was built.
    expect((await docker("image", "ls", "-q", `${tool}:latest`)).stdout.trim()).toBe("");

    const tools = await runImgb(["build", "tools"], { cwd: dir, env });
    expect({ code: tools.code, stdout: tools.stdout }).toEqual({ code: 0, stdout: `${tool}:latest\n` });
    expect((await docker("run", "--rm", "--network=none", `${tool}:latest`, "cat", "/built.txt")).stdout.trim()).toBe("py=none team=core");
  }, E2E_TIMEOUT);
});
