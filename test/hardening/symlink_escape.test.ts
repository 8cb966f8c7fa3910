/**
 * Hardening class "symlink escape": a context symlink that leads out of the context must never
 * make imgb write, chmod, re-time or delete anything outside the context or its own temporary
 * directory, with any engine. The case of issue #11: `s -> OUTSIDE` and `dockerfile: s/Dockerfile`;
 * podman and buildah materialize the context as a directory, and doing that through the
 * recreated link re-timed and chmodded OUTSIDE/Dockerfile (and could delete
 * OUTSIDE/Dockerfile.dockerignore).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildContext } from "../../src/context/build_context.ts";
import { InputError } from "../../src/errors.ts";
import { DirectoryBuildContext } from "../../flavors/_containers/directory_context.ts";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const OLD = new Date("2001-02-03T04:05:06Z");

/** stack dir: ctx/ (with s -> outside), outside/ (a Dockerfile 0600 from 2001 and its ignore file). */
function fixture(): { dir: string; outside: string; ownTmp: string; before: () => string } {
  const dir = tempDir("imgb-escape-");
  const outside = join(dir, "outside");
  writeTree(dir, {
    "ctx/app.txt": "app\n",
    "outside/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY app.txt /app.txt\n`,
    "outside/Dockerfile.dockerignore": "nothing-matches-this\n",
    "outside/secret": "never in an image\n",
  });
  symlinkSync(outside, join(dir, "ctx/s"));
  chmodSync(join(outside, "Dockerfile"), 0o600);
  for (const f of readdirSync(outside)) utimesSync(join(outside, f), OLD, OLD);
  utimesSync(outside, OLD, OLD);
  const ownTmp = join(dir, "tmp");
  mkdirSync(ownTmp);
  return { dir, outside, ownTmp, before: () => describeDir(outside) };
}

/** Names, modes and mtimes: what must not change outside the context. */
function describeDir(path: string): string {
  const self = statSync(path);
  const lines = [`. ${(self.mode & 0o7777).toString(8)} ${self.mtimeMs}`];
  for (const name of readdirSync(path).sort()) {
    const st = statSync(join(path, name));
    lines.push(`${name} ${(st.mode & 0o7777).toString(8)} ${st.mtimeMs}`);
  }
  return lines.join("\n");
}

function stack(flavorLine: string, name: string): string {
  return `image_builder:\n  flavor: ${flavorLine}\nimages:\n  ${name}:\n    context: ctx\n    dockerfile: s/Dockerfile\n    network: none\n`;
}

describe("a Dockerfile reached through a symlink out of the context, in the library", () => {
  test("BuildContext refuses it with an InputError naming the link, before anything is written", () => {
    const f = fixture();
    const expected = f.before();
    for (const Ctx of [BuildContext, DirectoryBuildContext]) {
      let err: unknown;
      try {
        new Ctx({ root: join(f.dir, "ctx"), dockerfile: "s/Dockerfile" });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).code).toBe("context.dockerfile-symlink");
      expect((err as Error).message).toBe(`Dockerfile "s/Dockerfile" is reached through the symlink "s", which leads outside the context directory "${join(f.dir, "ctx")}"`);
    }
    expect(describeDir(f.outside)).toBe(expected);
  });

  test("materializing a context with a link out of it writes nothing through the link", async () => {
    const f = fixture();
    const expected = f.before();
    writeFileSync(join(f.dir, "ctx/Dockerfile"), `FROM ${BASE_IMAGE}\n`);
    const dest = join(f.ownTmp, "m");
    await new DirectoryBuildContext({ root: join(f.dir, "ctx") }).writeDirectory(dest);
    expect(readdirSync(dest).sort()).toEqual(["Dockerfile", "app.txt", "s"]);
    expect(describeDir(f.outside)).toBe(expected);
  });
});

const engines: [string, string, Parameters<typeof requireEngine>[0]][] = [
  ["podman", "podman\n  config: { binary: podman }", "podman"],
  ["buildah", "buildah\n  config: { binary: buildah }", "buildah"],
  ["docker", `docker\n  config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }`, "docker"],
];

for (const [engine, flavorLine, requirement] of engines) {
  describe.skipIf(!(await requireEngine(requirement)))(`imgb build (${engine}) with dockerfile: s/Dockerfile, s -> outside`, () => {
    test("builds from the real Dockerfile, sent as an extra file; nothing outside changes; no temp files left", async () => {
      const f = fixture();
      const expected = f.before();
      const name = uniqueRepo(`escape-${engine}`);
      writeFileSync(join(f.dir, "imgb.yaml"), stack(flavorLine, name));
      const r = await runImgb(["build", "-f", join(f.dir, "imgb.yaml")], { cwd: f.dir, env: { TMPDIR: f.ownTmp, IMGB_HOME: join(f.ownTmp, "..", "home"), DOCKER_HOST } });
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(r.stdout.trim()).toBe(`${name}:latest`);
      expect(describeDir(f.outside)).toBe(expected);
      expect(readdirSync(f.ownTmp)).toEqual([]);
    }, E2E_TIMEOUT);
  });
}
