import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { InputError, InputErrors } from "../errors.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { loadStack } from "./load.ts";

afterAll(cleanupTempDirs);

/** [code, message, hint, line:col] of each error of a stack whose extra file a.txt is `spec`. */
async function extraFileErrors(spec: string): Promise<[string, string, string | undefined, string][]> {
  const dir = tempDir("imgb-schema-errors-");
  writeTree(dir, { "imgb.yaml": `images:\n  app:\n    context: .\n    extra_files:\n      a.txt: ${spec}\n`, Dockerfile: "FROM scratch\n", x: "x" });
  const err = await loadStack(join(dir, "imgb.yaml"), { env: {}, cwd: dir }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (err === undefined) return [];
  expect(err).toBeInstanceOf(InputError);
  const errors = err instanceof InputErrors ? err.errors : [err as InputError];
  return errors.map((e) => [e.code, e.message, e.hint, `${e.location?.line}:${e.location?.col}`]);
}

describe("unknown keys in a union of mappings (an extra file)", () => {
  test("a misspelt key of the other variant is suggested: { content: x, sorce: y }", async () => {
    expect(await extraFileErrors("{ content: x, sorce: y }")).toEqual([["schema.unknown-key", "Unknown key 'sorce'", "did you mean 'source'? (in place of 'content')", "5:28"]]);
    expect(await extraFileErrors("{ source: x, contnt: y }")).toEqual([["schema.unknown-key", "Unknown key 'contnt'", "did you mean 'content'? (in place of 'source')", "5:27"]]);
  });

  test("a misspelt key that leaves no variant fitting: { sorce: x } is an unknown key, not \"either … or …\"", async () => {
    expect(await extraFileErrors("{ sorce: x }")).toEqual([["schema.unknown-key", "Unknown key 'sorce'", "did you mean 'source'?", "5:16"]]);
    expect(await extraFileErrors('{ sorce: x, mode: "0644", zzz: 1 }')).toEqual([
      ["schema.unknown-key", "Unknown key 'sorce'", "did you mean 'source'?", "5:16"],
      ["schema.unknown-key", "Unknown key 'zzz'", "valid keys: content, mode, source", "5:40"],
    ]);
  });

  test("the variant's own keys still come first, and nothing guessable keeps the union's message", async () => {
    expect(await extraFileErrors('{ content: x, mod: "0644" }')).toEqual([["schema.unknown-key", "Unknown key 'mod'", "did you mean 'mode'?", "5:28"]]);
    expect(await extraFileErrors("{ content: x, zzz: 1 }")).toEqual([["schema.unknown-key", "Unknown key 'zzz'", "valid keys: content, mode", "5:28"]]);
    const [only] = await extraFileErrors("{ zzz: 1 }");
    expect(only?.[1]).toBe("Expected an extra file: either {content: TEXT} or {source: PATH}, with an optional mode");
  });
});
