import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { InputError, InputErrors } from "../errors.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { loadStack } from "./load.ts";

afterAll(cleanupTempDirs);

async function load(yaml: string) {
  const dir = tempDir("imgb-mounts-");
  writeTree(dir, { "imgb.yaml": yaml, Dockerfile: "FROM scratch\n", "tok.txt": "t" });
  try {
    return { dir, stack: await loadStack(join(dir, "imgb.yaml"), { env: {}, cwd: dir }), errors: [] as readonly InputError[] };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return { dir, stack: undefined, errors: e instanceof InputErrors ? e.errors : [e] };
  }
}

describe("secrets and ssh in the stack", () => {
  test("the stack's default secrets under the image's own (the image wins), files absolute, ids sorted; ssh lists and mappings", async () => {
    const { dir, stack } = await load(
      "secrets:\n  shared: { file: tok.txt }\n  npm: { env: DEFAULT_NPM }\nimages:\n  app:\n    context: .\n    secrets:\n      npm: { env: APP_NPM }\n    ssh: [default]\n  worker:\n    context: .\n    ssh: { git: agent.sock }\n",
    );
    const { app, worker } = stack!.images;
    expect(app!.secrets).toEqual([{ id: "npm", env: "APP_NPM" }, { id: "shared", file: join(dir, "tok.txt") }]);
    expect(app!.ssh).toEqual([{ id: "default" }]);
    expect(worker!.secrets).toEqual([{ id: "npm", env: "DEFAULT_NPM" }, { id: "shared", file: join(dir, "tok.txt") }]);
    expect(worker!.ssh).toEqual([{ id: "git", path: join(dir, "agent.sock") }]);
  });

  test("a missing secret file is located at its key; a source with both or neither form is a schema error (the other entries wait)", async () => {
    const { errors } = await load("secrets:\n  gone: { file: nope.txt }\nimages:\n  app:\n    context: .\n    secrets:\n      a: { file: missing.txt }\n      b: { env: X, file: tok.txt }\n      c: {}\n  ok:\n    context: .\n    secrets: { m: { file: missing.txt } }\n");
    expect(errors.map((e) => [e.code, e.location?.path]).sort()).toEqual(
      [
        ["schema.invalid-value", "/images/app/secrets/b"],
        ["schema.invalid-value", "/images/app/secrets/c"],
        ["stack.secret-missing", "/images/ok/secrets/m/file"],
        ["stack.secret-missing", "/secrets/gone/file"],
      ].sort(),
    );
  });
});
