/**
 * `builder: auto` (the docker flavor's default) through the compiled binary, with the real
 * docker CLI 28 without buildx (/usr/local/bin/docker) against the test dockerd: a Dockerfile
 * that needs nothing BuildKit-only is built with the classic builder and the fix is said once
 * for the run; one that needs BuildKit is refused with what needs it, and nothing is built.
 * With Debian's CLI 20.10 (BuildKit built in) auto builds with BuildKit and says nothing.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, requireTool, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

const NEW_CLI = "/usr/local/bin/docker";
const created: string[] = [];
afterAll(() => {
  if (created.length) Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", "-f", ...created], { stdout: "ignore", stderr: "ignore" });
  cleanupTempDirs();
});

const docker = (...args: string[]) => new TextDecoder().decode(Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, ...args], { stdout: "pipe", stderr: "ignore" }).stdout).trim();
/** The classic builder records the container each step ran in; BuildKit leaves it empty. */
const builtByClassic = (ref: string) => docker("image", "inspect", "--format", "{{.Container}}", ref) !== "";

const newCliWithoutBuildx = await requireTool(NEW_CLI, () => {
  if (!existsSync(NEW_CLI)) return `${NEW_CLI} is missing`;
  const version = Bun.spawnSync([NEW_CLI, "--version"], { stdout: "pipe" }).stdout.toString();
  if (Number(version.match(/version (\d+)/)?.[1]) < 23) return `${NEW_CLI} is older than 23: ${version.trim()}`;
  return Bun.spawnSync([NEW_CLI, "buildx", "version"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0 ? `${NEW_CLI} has buildx` : undefined;
});

function stack(cli: string, images: Record<string, string>): string {
  const dir = tempDir();
  const body = Object.entries(images).map(([name, dockerfile]) => {
    created.push(`${name}:latest`);
    return `  ${name}: { network: none, dockerfile_inline: ${JSON.stringify(dockerfile)} }\n`;
  });
  writeTree(dir, { "imgb.yaml": `image_builder:\n  flavor: docker\n  config: { binary: ${cli}, host: "${DOCKER_HOST}" }\nimages:\n${body.join("")}` });
  return dir;
}

const home = tempDir("imgb-home-");
const build = (dir: string) => runImgb(["build", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: home, NO_COLOR: "1" } });
const NOTE = "has no buildx plugin, so no BuildKit: building with the classic builder";

describe.skipIf(!(await requireEngine("docker")) || !newCliWithoutBuildx)("docker builder: auto, CLI 28 without buildx", () => {
  test("a plain Dockerfile: built with the classic builder, the fix said once for two images", async () => {
    const one = uniqueRepo("auto-classic-1");
    const two = uniqueRepo("auto-classic-2");
    const dir = stack(NEW_CLI, { [one]: `FROM ${BASE_IMAGE}\nRUN echo one > /one\n`, [two]: `FROM ${BASE_IMAGE}\nRUN echo two > /two\n` });
    const r = await build(dir);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toBe(`${one}:latest\n${two}:latest\n`);
    expect(r.stderr.split(NOTE).length - 1).toBe(1);
    expect(r.stderr).toContain("docker-buildx-plugin");
    expect(r.stderr).toContain("point the flavor's `binary:` at a docker CLI that has BuildKit");
    expect(builtByClassic(`${one}:latest`)).toBe(true);
    expect(builtByClassic(`${two}:latest`)).toBe(true);
    expect(r.stderr).not.toContain("buildx component is missing");
  }, E2E_TIMEOUT);

  test("a Dockerfile that needs BuildKit: refused with what needs it and the fix; nothing built", async () => {
    const name = uniqueRepo("auto-refused");
    const dir = stack(NEW_CLI, { [name]: `# syntax=docker/dockerfile:1\nFROM ${BASE_IMAGE}\nRUN --mount=type=cache,target=/c true\nCOPY --chmod=755 <<EOF /x\nhi\nEOF\n` });
    const r = await build(dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`Image '${name}:latest' needs BuildKit, and the docker CLI ${NEW_CLI} (`);
    expect(r.stderr).toContain("the '# syntax=' directive (line 1), RUN --mount (line 3), COPY --chmod (line 4), a heredoc in COPY (line 4)");
    expect(r.stderr).toContain("(hint: install the buildx plugin");
    expect(docker("image", "ls", "-q", `${name}:latest`)).toBe("");
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("docker")))("docker builder: auto, CLI 20.10", () => {
  test("BuildKit, and no note", async () => {
    const name = uniqueRepo("auto-buildkit");
    const dir = stack(DOCKER_CLI, { [name]: `FROM ${BASE_IMAGE}\nRUN --mount=type=tmpfs,target=/t echo bk > /bk\n` });
    const r = await build(dir);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stderr).not.toContain(NOTE);
    expect(builtByClassic(`${name}:latest`)).toBe(false);
  }, E2E_TIMEOUT);
});
