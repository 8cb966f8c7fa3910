/**
 * A stack file from an untrusted branch must not read files outside its own directory without
 * the command line's `--allow fs.read=PATH` (bake's entitlements). Symlinks count where they
 * point. And a file it may read must not leak through error messages.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const docker = (...args: string[]) => {
  const p = Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString() };
};

const SECRET = "s3cret-outside-the-project";

/** A project directory and, beside it, a directory with a secret the project must not read. */
function layout(stackBody: (outside: string) => string): { dir: string; outside: string } {
  const outside = tempDir("imgb-outside-");
  writeTree(outside, { "secret.txt": SECRET, "Dockerfile": "FROM scratch\n", ".dockerignore": "x\n", "f.ts": "export default {}\n" });
  const dir = tempDir("imgb-project-");
  writeTree(dir, { "ctx/Dockerfile": "FROM scratch\nCOPY . /\n", "imgb.yaml": `image_builder: { flavor: docker }\n${stackBody(outside)}` });
  return { dir, outside };
}

describe("paths outside the stack's directory need --allow", () => {
  const cases: [string, (o: string) => string, RegExp][] = [
    ["extra_files source", (o) => `images:\n  app:\n    context: ctx\n    extra_files:\n      x: { source: ${o}/secret.txt }\n`, /imgb\.yaml:6:12: error: 'source' reads '(.*)\/secret\.txt', outside the stack file's directory '.*' \(at \/images\/app\/extra_files\/x\/source\) \(hint: let this stack read it with --allow fs\.read=\1\/secret\.txt\)/],
    ["context", (o) => `images:\n  app:\n    context: ${o}\n`, /imgb\.yaml:4:5: error: 'context' reads '.*', outside .* \(at \/images\/app\/context\)/],
    ["dockerfile", (o) => `images:\n  app:\n    context: ctx\n    dockerfile: ${o}/Dockerfile\n`, /imgb\.yaml:5:5: error: 'dockerfile' reads .*\(at \/images\/app\/dockerfile\)/],
    ["dockerignore", (o) => `images:\n  app:\n    context: ctx\n    dockerignore: ${o}/.dockerignore\n`, /imgb\.yaml:5:5: error: 'dockerignore' reads .*\(at \/images\/app\/dockerignore\)/],
    ["password_file", (o) => `container_registry:\n  uri: 127.0.0.1:5000\n  credentials: { username: u, password_file: ${o}/secret.txt }\nimages:\n  app: { context: ctx }\n`, /imgb\.yaml:4:31: error: 'password_file' reads .*\(at \/container_registry\/credentials\/password_file\)/],
    ["a flavor file (it would be run, not only read)", (o) => `flavors: [${o}/f.ts]\nimages:\n  app: { context: ctx }\n`, /imgb\.yaml:2:11: error: 'flavors' reads .*\(at \/flavors\/0\)/],
    ["a relative path climbing out", () => `images:\n  app:\n    context: ../..\n`, /imgb\.yaml:4:5: error: 'context' reads '[^']+', outside the stack file's directory /],
  ];
  for (const [name, body, expected] of cases) {
    test(name, async () => {
      const { dir, outside } = layout(body);
      for (const args of [["validate"], ["print"], ["build"], ["context", "app"]]) {
        const r = await runImgb(args, { cwd: dir, env: { IMGB_HOME: tempDir() } });
        expect(r.code).toBe(2);
        expect(r.stderr.trim().split("\n")[0]).toMatch(expected);
        expect(r.stdout).not.toContain(SECRET);
      }
      if (name.startsWith("a relative")) return;
      // Allowed: the same stack passes this check (the flavor file is not a real flavor).
      const ok = await runImgb(["validate", "--allow", `fs.read=${outside}`], { cwd: dir });
      expect(ok.stderr).not.toContain("outside the stack file's directory");
      if (!name.startsWith("a flavor")) expect(ok.code).toBe(0);
    });
  }

  test("a symlink inside the project that points outside is outside", async () => {
    const { dir, outside } = layout(() => `images:\n  app:\n    context: ctx\n    extra_files:\n      x: { source: link }\n`);
    symlinkSync(join(outside, "secret.txt"), join(dir, "link"));
    const r = await runImgb(["context", "app", "-o", "-"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`'source' reads '${join(dir, "link")}' (it resolves to '${join(outside, "secret.txt")}'), outside the stack file's directory`);
    expect(r.stderr).toContain(`--allow fs.read=${join(outside, "secret.txt")}`);
  });

  test("fs.read=PATH allows that tree only; fs=* and fs.read=* allow all; bad values are usage errors", async () => {
    const { dir, outside } = layout((o) => `images:\n  app:\n    context: ctx\n    extra_files:\n      x: { source: ${o}/secret.txt }\n`);
    const list = (allow: string[]) => runImgb(["context", "app", ...allow.flatMap((a) => ["--allow", a])], { cwd: dir });
    expect((await list([`fs.read=${join(outside, "secret.txt")}`])).stdout).toBe("Dockerfile\nx\n");
    expect((await list([`fs=${outside}`])).code).toBe(0);
    expect((await list(["fs=*"])).code).toBe(0);
    expect((await list(["fs.read=*"])).code).toBe(0);
    expect((await list([`fs.read=${outside}-other`])).code).toBe(2); // a prefix is not a parent
    const bad = await list(["network.host"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe("error: Unknown entitlement 'network.host' in --allow (hint: imgb knows fs.read=PATH, fs=PATH and fs=* (paths a stack may read outside its directory))");
    expect((await list(["fs.read="])).stderr).toContain("Entitlement 'fs.read' needs a path");
  });
});

describe("what a stack may read does not leak through errors", () => {
  for (const flavor of ["oci", "docker"]) {
    test(`dockerfile: /etc/passwd (allowed), flavor ${flavor}: the error names the file, not its first line, not .imgb/Dockerfile`, async () => {
      const dir = tempDir();
      writeTree(dir, { "imgb.yaml": `image_builder: { flavor: ${flavor} }\nimages:\n  app:\n    dockerfile: /etc/passwd\n` });
      const output = flavor === "oci" ? ["--output", `oci-layout:${join(dir, "out")}`] : [];
      const r = await runImgb(["build", "--allow", "fs.read=/etc/passwd", ...output, "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: tempDir(), DOCKER_HOST } });
      expect(r.code).toBe(2);
      expect(r.stderr.split("\n")[0]).toBe(`${join(dir, "imgb.yaml")}:4:17: error: '/etc/passwd' is not a Dockerfile: line 1 is not FROM or ARG, which every Dockerfile starts with (at /images/app/dockerfile) (hint: is 'dockerfile' pointing at the right file? Paths are relative to the context)`);
      expect(r.stderr).not.toContain(".imgb/Dockerfile");
      expect(r.stderr).not.toMatch(/root:|ROOT:|\/bin\/(ba)?sh/i);
    });
  }
});

describe.skipIf(!(await requireEngine("docker")))("the docker engine never sees an outside file without --allow", () => {
  test("build with an outside extra file: exit 2 and no image; with --allow the file is in the image", async () => {
    const name = uniqueRepo("imgb-entitlement");
    const outside = tempDir("imgb-outside-");
    writeTree(outside, { "secret.txt": SECRET });
    const dir = tempDir("imgb-project-");
    writeTree(dir, {
      "ctx/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY secret.txt /secret.txt\n`,
      "imgb.yaml": `image_builder: { flavor: docker, config: { binary: ${DOCKER_CLI} } }\nimages:\n  ${name}:\n    context: ctx\n    extra_files:\n      secret.txt: { source: ${outside}/secret.txt }\n`,
    });
    const env = { DOCKER_HOST, IMGB_HOME: tempDir() };
    const denied = await runImgb(["build", "--progress", "plain"], { cwd: dir, env });
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain("'source' reads");
    expect(docker("image", "inspect", `${name}:latest`).code).not.toBe(0);

    const allowed = await runImgb(["build", "--progress", "plain", "--allow", `fs.read=${outside}`], { cwd: dir, env });
    expect(allowed.code).toBe(0);
    expect(docker("run", "--rm", "--network=none", `${name}:latest`, "cat", "/secret.txt").stdout).toBe(SECRET);
    docker("rmi", "-f", `${name}:latest`);
  }, E2E_TIMEOUT);
});
