/** The compiled binary, as a user meets it: exit codes, stdout/stderr split, help, colour. */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { repoRoot, runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { commands } from "../../src/cli/commands.ts";

afterAll(cleanupTempDirs);
const example = join(repoRoot, "examples/hello/imgb.yaml");

describe("imgb binary", () => {
  test("--version: result on stdout, nothing on stderr, exit 0", async () => {
    const r = await runImgb(["--version"], { cwd: tempDir() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^imgb \d+\.\d+\.\d+ \(/);
    expect(r.stderr).toBe("");
  });

  test("version --json", async () => {
    const r = await runImgb(["version", "--json"]);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: expect.any(String), commit: expect.any(String) });
  });

  test("validate an example from an empty directory", async () => {
    const r = await runImgb(["validate", "-f", example], { cwd: tempDir() });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("valid");
  });

  test("-f defaults to imgb.yaml in the current directory", async () => {
    const dir = tempDir();
    const missing = await runImgb(["validate"], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`Stack file not found: '${join(dir, "imgb.yaml")}'`);
    writeTree(dir, { "imgb.yaml": "image_builder: { flavor: docker }\nimages:\n  app: { dockerfile_inline: 'FROM scratch' }\n" });
    expect((await runImgb(["validate"], { cwd: dir })).code).toBe(0);
  });

  test("invalid stack: exit 2, one line per error with file:line:col, no stack trace", async () => {
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": "image_builder: { flavor: docker }\nimages:\n  app:\n    dockerfil: x\n" });
    const r = await runImgb(["validate", "-f", "imgb.yaml"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`${join(dir, "imgb.yaml")}:4:5: error: Unknown key 'dockerfil' (at /images/app/dockerfil) (hint: did you mean 'dockerfile'?)`);
    expect(r.stderr).not.toMatch(/^\s+at /m);
    const debug = await runImgb(["validate", "-f", "imgb.yaml", "--debug"], { cwd: dir });
    expect(debug.stderr).toMatch(/^\s+at /m);
  });

  test("validate --json reports errors on stdout", async () => {
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": "image_builder: { flavor: dockr }\nimages: {}\n" });
    const r = await runImgb(["validate", "--json"], { cwd: dir });
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out.valid).toBe(false);
    expect(out.errors[0].location.line).toBeGreaterThan(0);
  });

  test("print: the resolved stack on stdout, secrets only by reference", async () => {
    const r = await runImgb(["print", "-f", join(repoRoot, "examples/stack/imgb.yaml")], { env: { REGISTRY_PASSWORD: "s3cr3t-value" } });
    expect(r.code).toBe(0);
    const stack = JSON.parse(r.stdout);
    expect(stack.containerRegistry.credentials).toEqual({ username: "imgb", passwordEnv: "REGISTRY_PASSWORD" });
    expect(r.stdout + r.stderr).not.toContain("s3cr3t-value");
  });

  test("schema is JSON", async () => {
    const r = await runImgb(["schema"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).properties.images).toBeDefined();
  });

  test("unknown command and option: exit 2 with a hint, no usage dump for runtime errors", async () => {
    const cmd = await runImgb(["biuld"]);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain("did you mean 'imgb build'?");
    const opt = await runImgb(["validate", "--fiel", "x"]);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain("usage: imgb validate");
  });

  test("--help on every command, with an example", async () => {
    for (const name of Object.keys(commands)) {
      const r = await runImgb([...name.split(" "), "--help"]);
      expect({ name, code: r.code }).toEqual({ name, code: 0 });
      expect(r.stdout).toContain(`Usage: imgb ${name}`);
      expect(r.stdout).toContain("Examples:");
    }
  });

  test("NO_COLOR wins over FORCE_COLOR; colour only when asked", async () => {
    const dir = tempDir();
    writeTree(dir, { "imgb.yaml": "nope: 1\n" });
    const colored = await runImgb(["validate"], { cwd: dir, env: { FORCE_COLOR: "1" } });
    expect(colored.stderr).toContain("\x1b[");
    const plain = await runImgb(["validate"], { cwd: dir, env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    expect(plain.stderr).not.toContain("\x1b[");
  });
});
