/**
 * Hostile or mistaken command lines: an option value that is really a flag must not be
 * swallowed (`-o --list` wrote a file named `--list`), and a listing must stay one name per line
 * whatever the names contain.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

function project(): string {
  const dir = tempDir();
  writeTree(dir, {
    "imgb.yaml": "image_builder: { flavor: docker }\nimages:\n  app: { context: ctx }\n",
    "ctx/Dockerfile": "FROM scratch\n",
  });
  return dir;
}

describe("option values that look like options", () => {
  test("`context app -o --list` is a usage error and writes nothing", async () => {
    const dir = project();
    const r = await runImgb(["context", "app", "-o", "--list"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toBe("error: Option '--output' needs a value (FILE), got the option '--list' (hint: a value that starts with '-' is written '--output=--list')");
    expect(existsSync(join(dir, "--list"))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(["ctx", "imgb.yaml"]);
  });

  test("`-f --json` on validate is refused too (every command shares the parser)", async () => {
    const r = await runImgb(["validate", "-f", "--json"], { cwd: project() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("got the option '--json'");
  });

  test("`-o=--list` means the file '--list', as asked", async () => {
    const dir = project();
    const r = await runImgb(["context", "app", "-o=--list"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, "--list"))).toBe(true);
  });
});

describe("context --list with unusual names", () => {
  test("a name with a newline is one quoted line, not two names", async () => {
    const dir = project();
    writeTree(dir, { "ctx/evil\nDockerfile": "x", "ctx/'quoted": "y", "ctx/plain name": "z" });
    const r = await runImgb(["context", "app", "--list"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(["\\''quoted'", "Dockerfile", "'evil'$'\\n''Dockerfile'", "plain name", ""].join("\n"));
  });
});
