/**
 * What `imgb build` writes on stderr, through the compiled binary against the real docker daemon:
 * with `--progress json` every line is one JSON object (events, messages, the summary and the
 * error) for a success, a failed build and a bad stack file; with `--progress plain` a failed
 * build's engine log is shown once, and the error keeps only the lines that explain it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

const created: string[] = [];
afterAll(() => {
  if (created.length) Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", "-f", ...created]);
  cleanupTempDirs();
});

const home = tempDir("imgb-home-");
const imgb = (dir: string, args: string[]) => runImgb(args, { cwd: dir, env: { IMGB_HOME: home, DOCKER_HOST, FORCE_COLOR: "1" } });

function stack(name: string, dockerfile: string): string {
  const dir = tempDir();
  writeTree(dir, {
    "imgb.yaml": `image_builder:\n  flavor: docker\n  config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }\nimages:\n  ${name}: { context: ., network: none }\n`,
    Dockerfile: dockerfile,
  });
  created.push(`${name}:latest`);
  return dir;
}

/** Every stderr line parsed as JSON (a line that is not fails the test, naming it). */
function jsonLines(stderr: string): Record<string, any>[] {
  expect(stderr.endsWith("\n")).toBe(true);
  return stderr.slice(0, -1).split("\n").map((line) => {
    try {
      return JSON.parse(line) as Record<string, any>;
    } catch {
      throw new Error(`stderr line is not JSON: ${JSON.stringify(line)}`);
    }
  });
}

const FAILING = `FROM ${BASE_IMAGE}\nRUN echo first output line && echo about to fail >&2 && exit 3\n`;

describe("imgb build --progress json: a bad stack file", () => {
  test("each error is one JSON object, no colour even when forced", async () => {
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": "image_builder: { flavor: dockr }\nimages:\n  app:\n    dockerfil: x\n" });
    const r = await imgb(dir, ["build", "--progress", "json"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const lines = jsonLines(r.stderr);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.every((l) => l.type === "error" && l.exitCode === 2 && typeof l.time === "string")).toBe(true);
    expect(lines.map((l) => l.code)).toContain("stack.unknown-flavor");
    expect(lines.find((l) => l.location?.path === "/images/app/dockerfil")).toMatchObject({ location: { line: 4, col: 5 }, hint: "did you mean 'dockerfile'?" });
    expect(r.stderr).not.toContain("\x1b[");
    // A usage error of the same command line is JSON too.
    const usage = await imgb(dir, ["build", "--progress=json", "--jobz", "2"]);
    expect(usage.code).toBe(2);
    expect(jsonLines(usage.stderr)).toEqual([expect.objectContaining({ type: "error", code: "cli.unknown-option", hint: "did you mean '--jobs'?" })]);
  });
});

describe.skipIf(!(await requireEngine("docker")))("imgb build output (docker)", () => {
  test("--progress json, a success: events, then the summary; the reference on stdout", async () => {
    const name = uniqueRepo("json-ok");
    const dir = stack(name, `FROM ${BASE_IMAGE}\nRUN echo hello from the build\n`);
    const r = await imgb(dir, ["build", "--progress", "json"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${name}:latest\n`);
    const lines = jsonLines(r.stderr);
    expect(lines.map((l) => l.type).filter((t) => t !== "log" && t !== "step")).toEqual(["queued", "start", "done", "summary"]);
    expect(lines.some((l) => l.type === "log" && String(l.line).includes("hello from the build"))).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: "summary", images: [{ image: name, result: "built", ref: `${name}:latest`, durationMs: expect.any(Number) }] });
    expect(r.stderr).not.toContain("IMAGE  ");
  }, E2E_TIMEOUT);

  test("--progress json, a failed build: the failure, the summary and the error are JSON", async () => {
    const name = uniqueRepo("json-fail");
    const dir = stack(name, FAILING);
    const r = await imgb(dir, ["build", "--progress", "json"]);
    expect(r.code).toBe(1);
    const lines = jsonLines(r.stderr);
    const failed = lines.find((l) => l.type === "failed")!;
    expect(failed).toMatchObject({ image: name, error: { code: "build.step-failed", command: expect.stringContaining(`${DOCKER_CLI} build`) } });
    expect(failed.error.message).toContain("about to fail");
    expect(lines.at(-2)).toMatchObject({ type: "summary", images: [{ image: name, result: "failed" }] });
    expect(lines.at(-1)).toMatchObject({ type: "error", code: "build.failed", exitCode: 1, message: `1 of 1 images failed: ${name}` });
  }, E2E_TIMEOUT);

  test("--progress plain, a failed build: the engine log once, the error with the lines that explain it", async () => {
    const name = uniqueRepo("log-once");
    const dir = stack(name, FAILING);
    const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: home, DOCKER_HOST, NO_COLOR: "1" } });
    expect(r.code).toBe(1);
    const count = (s: string) => r.stderr.split(s).length - 1;
    // Lines of the log that explain nothing appear once: streamed, not repeated in the error.
    expect(count("load remote build context")).toBe(1);
    expect(count("load metadata for")).toBe(1);
    const error = r.stderr.slice(r.stderr.indexOf(`Build of image '${name}:latest' failed: a build step`));
    expect(error).toMatch(/^Build of image '.*' failed: a build step \(\/bin\/sh -c echo first output line .*\) exited with code 3: /);
    expect(error).toContain("about to fail");
    expect(error).toContain("first output line");
    expect(error).not.toContain("load metadata");
    expect(error).not.toMatch(/sha256:[0-9a-f]{64}\n/);
    expect(r.stderr).toMatch(/\nerror: 1 of 1 images failed: /);
  }, E2E_TIMEOUT);
});
