import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { InputError, InputErrors } from "../errors.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { loadStack } from "./load.ts";

afterAll(cleanupTempDirs);

/** The errors of loading a stack whose one image has these extra_files lines. */
async function extraFileErrors(lines: string[]): Promise<readonly InputError[]> {
  const dir = tempDir("imgb-resolve-");
  const yaml = ["images:", "  app:", "    context: .", "    extra_files:", ...lines.map((l) => `      ${l}`), ""].join("\n");
  writeTree(dir, { "imgb.yaml": yaml, Dockerfile: "FROM scratch\n", "src.txt": "x" });
  const err = await loadStack(join(dir, "imgb.yaml"), { env: {}, cwd: dir }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return [];
  expect(err).toBeInstanceOf(InputError);
  return err instanceof InputErrors ? err.errors : [err as InputError];
}

describe("extra_files destinations", () => {
  test("a '..' that stays inside is refused at the key, not turned into another path", async () => {
    const errors = await extraFileErrors(["a/../b: { content: x }", "c/../d/e: { source: src.txt }"]);
    expect(errors.map((e) => [e.code, e.message, e.hint, e.location?.line, e.location?.col])).toEqual([
      ["stack.extra-file-escapes", "Extra file destination 'a/../b' must not contain '..'", "write the path it stands for: 'b'", 5, 7],
      ["stack.extra-file-escapes", "Extra file destination 'c/../d/e' must not contain '..'", "write the path it stands for: 'd/e'", 6, 7],
    ]);
  });

  test("escaping, absolute and Windows destinations: outside the build context", async () => {
    const errors = await extraFileErrors(["../x: { content: x }", "/etc/x: { content: x }", "'C:\\x': { content: x }", "'a\\..\\..\\x': { content: x }"]);
    expect(errors.map((e) => e.message)).toEqual([
      "Extra file destination '../x' is outside the build context",
      "Extra file destination '/etc/x' is outside the build context",
      "Extra file destination 'C:\\x' is outside the build context",
      "Extra file destination 'a\\..\\..\\x' is outside the build context",
    ]);
  });

  test("clean destinations are accepted as the context names them", async () => {
    expect(await extraFileErrors(["conf/./app.yaml: { content: x }", "'dir\\f.txt': { source: src.txt }", "trailing/: { content: x }"])).toEqual([]);
  });
});
