/**
 * `imgb build` as a user runs it (bun src/main.ts): a stack file, references on stdout,
 * prefixed engine output on stderr, a metadata file, credentials from the environment, and
 * Ctrl-C stopping the engine with exit code 130 and no temp files left.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, DOCKER_CLI, DOCKER_HOST, REGISTRY, registryDigest, requireEngine, uniqueRepo, E2E_TIMEOUT } from "../helpers/testenv.ts";
import { makeFixture, removeFixture } from "./_scenario.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeFixture));

function stackDir(yaml: string, files: Record<string, string>): string {
  const dir = makeFixture({ ...files, "imgb.yaml": yaml });
  dirs.push(dir);
  return dir;
}

// A store of this suite's own, so runs never reuse each other's builds.
const IMGB_HOME = mkdtempSync(join(tmpdir(), "imgb-home-"));
afterAll(() => rmSync(IMGB_HOME, { recursive: true, force: true }));

function imgb(dir: string, args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([process.execPath, MAIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1", IMGB_HOME, ...env }, stdout: "pipe", stderr: "pipe" });
}

const tempEntries = () => readdirSync(tmpdir()).filter((n) => /^imgb-(docker|podman|buildah|context)-/.test(n)).sort();

describe.skipIf(!(await requireEngine("docker", "registry")))("imgb build (docker)", () => {
  test("builds every image in order, prints digest references, writes metadata", async () => {
    const base = uniqueRepo("cli-base");
    const app = uniqueRepo("cli-app");
    const dir = stackDir(
      `image_builder:\n  flavor: docker\n  config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }\ncontainer_registry:\n  uri: ${REGISTRY}\nimages:\n  ${base}:\n    context: base\n    network: none\n  ${app}:\n    context: app\n    network: none\n    tags: [v1, extra]\n    build_args: { MSG: hi }\n`,
      {
        "base/Dockerfile": "FROM imgb-test/busybox:latest\nRUN echo base > /base\n",
        "app/Dockerfile": "FROM imgb-test/busybox:latest\nARG MSG\nCOPY . /app\nRUN echo $MSG > /msg\n",
        "app/file.txt": "x\n",
      },
    );
    const p = imgb(dir, ["build", "--metadata-file", "out/../meta.json"]);
    const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const refs = stdout.trim().split("\n");
    expect(refs).toEqual([
      `${REGISTRY}/${base}@${await registryDigest(REGISTRY, base, "latest")}`,
      `${REGISTRY}/${app}@${await registryDigest(REGISTRY, app, "v1")}`,
    ]);
    expect(await registryDigest(REGISTRY, app, "extra")).toBe(refs[1]!.split("@")[1]!);
    const [progress, summary] = stderr.split("\nIMAGE ");
    const lines = progress!.split("\n").filter((l) => l.trim() !== "");
    expect(lines.some((l) => new RegExp(`^${app} +\\| `).test(l))).toBe(true);
    expect(lines.filter((l) => !/^imgb-e2e\/cli-(base|app)-\w+ +\| /.test(l))).toEqual([]);
    expect(summary).toMatch(new RegExp(`${app} +built +[0-9.]+s  ${REGISTRY}/${app}@sha256:`));
    const meta = JSON.parse(readFileSync(join(dir, "meta.json"), "utf8"));
    expect(Object.keys(meta)).toEqual([base, app]);
    expect(meta[app]).toMatchObject({ ref: refs[1], digest: refs[1]!.split("@")[1], imageId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), reused: false });
    expect(meta[app].duration).toBeGreaterThan(0);
  }, E2E_TIMEOUT);

  test("builds only the images named; an unknown name is a usage error with a suggestion", async () => {
    const dir = stackDir(`image_builder: { flavor: docker, config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" } }\nimages:\n  one: { context: ., network: none }\n  two: { context: ., network: none }\n`, {
      Dockerfile: "FROM imgb-test/busybox:latest\n",
    });
    const p = imgb(dir, ["build", "two"]);
    const [code, stdout] = await Promise.all([p.exited, new Response(p.stdout).text()]);
    expect(code).toBe(0);
    expect(stdout).toBe("two:latest\n");
    const bad = imgb(dir, ["build", "tow"]);
    const [badCode, badErr] = await Promise.all([bad.exited, new Response(bad.stderr).text()]);
    expect(badCode).toBe(2);
    expect(badErr).toContain("Unknown image or group 'tow'");
    expect(badErr).toContain("did you mean 'two'?");
  }, E2E_TIMEOUT);

  test("Ctrl-C stops the engine, removes temp files and exits 130", async () => {
    // A marker of this run's own: another run of this suite on the machine has its own RUN.
    const marker = `started-slow-step-${Date.now()}${Math.random().toString(36).slice(2, 6)}`;
    const dir = stackDir(`image_builder: { flavor: docker, config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" } }\nimages:\n  slow: { context: ., network: none, no_cache: true }\n`, {
      Dockerfile: `FROM imgb-test/busybox:latest\nRUN echo ${marker} && sleep 60 && echo done\n`,
    });
    const before = tempEntries();
    const started = performance.now();
    const p = imgb(dir, ["build"]);
    let stderr = "";
    const reader = p.stderr.getReader();
    while (!stderr.split("\n").some((l) => l.includes(marker) && !l.includes("RUN"))) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += new TextDecoder().decode(value);
    }
    p.kill("SIGINT");
    expect(await p.exited).toBe(130);
    expect(performance.now() - started).toBeLessThan(8_000); // not the 10 s SIGKILL grace
    expect(tempEntries()).toEqual(before);
    const ps = await Bun.$`ps -eo args`.text();
    expect(ps).not.toContain(marker);
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("podman", "auth-registry")))("imgb build (podman, authenticated registry)", () => {
  test("reads the password from password_env and pushes", async () => {
    const repo = uniqueRepo("cli-auth");
    const dir = stackDir(
      `image_builder: { flavor: podman }\ncontainer_registry:\n  uri: ${AUTH_REGISTRY}\n  credentials: { username: ${AUTH_USER}, password_env: IMGB_E2E_PASSWORD }\nimages:\n  ${repo}: { context: ., network: none }\n`,
      { Dockerfile: "FROM imgb-test/busybox:latest\nRUN echo hi > /hi\n" },
    );
    const p = imgb(dir, ["build"], { IMGB_E2E_PASSWORD: AUTH_PASSWORD });
    const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toBe(`${AUTH_REGISTRY}/${repo}@${await registryDigest(AUTH_REGISTRY, repo, "latest", { user: AUTH_USER, password: AUTH_PASSWORD })}\n`);
    expect(stderr).not.toContain(AUTH_PASSWORD);
    const missing = imgb(dir, ["build"], { IMGB_E2E_PASSWORD: "" });
    const [missingCode, missingErr] = await Promise.all([missing.exited, new Response(missing.stderr).text()]);
    expect(missingCode).toBe(2);
    expect(missingErr).toContain("Registry password variable 'IMGB_E2E_PASSWORD' is not set");
  }, E2E_TIMEOUT);
});

