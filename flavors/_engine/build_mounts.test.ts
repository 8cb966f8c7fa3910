import { afterAll, describe, expect, test } from "bun:test";
import { statSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { InputError } from "../../src/errors.ts";
import { cleanupTempDirs, tempDir } from "../../test/helpers/tmp.ts";
import { buildMountFlags, refuseMounts } from "./build_mounts.ts";

afterAll(cleanupTempDirs);

describe("buildMountFlags", () => {
  test("file secrets by path, env secrets through a 0600 file, ssh ids with their socket; values only in redact", async () => {
    const tmp = tempDir();
    const file = join(tmp, "npmrc");
    writeFileSync(file, "//registry/:_authToken=file-value-123\n");
    const options = defaultBuildOptions({ secrets: [{ id: "npm", file }, { id: "tok", env: "TOK" }], ssh: [{ id: "default" }, { id: "git", path: file }] });
    const m = await buildMountFlags(options, tmp, { TOK: "env-value-456", SSH_AUTH_SOCK: tmp });
    const envFile = join(tmp, "secrets", "1");
    expect(m.flags).toEqual(["--secret", `id=npm,src=${file}`, "--secret", `id=tok,src=${envFile}`, "--ssh", `default=${tmp}`, "--ssh", `git=${file}`]);
    expect(m.flags.join(" ")).not.toContain("value");
    expect(readFileSync(envFile, "utf8")).toBe("env-value-456");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(statSync(join(tmp, "secrets")).mode & 0o777).toBe(0o700);
    expect(m.redact).toContain("env-value-456");
    expect(m.redact).toContain("//registry/:_authToken=file-value-123");
  });

  test("an unset variable, a missing file, no agent, a comma: input errors that name the secret and never a value", async () => {
    const tmp = tempDir();
    const run = (o: Parameters<typeof defaultBuildOptions>[0], env: Record<string, string> = {}) => buildMountFlags(defaultBuildOptions(o), tmp, env);
    await expect(run({ secrets: [{ id: "tok", env: "NOPE" }] })).rejects.toThrow("Secret 'tok' comes from the environment variable 'NOPE', which is not set");
    await expect(run({ secrets: [{ id: "f", file: join(tmp, "missing") }] })).rejects.toThrow("Secret 'f': file");
    await expect(run({ ssh: [{ id: "default" }] })).rejects.toThrow("$SSH_AUTH_SOCK, which is not set");
    await expect(run({ ssh: [{ id: "k", path: join(tmp, "gone") }] })).rejects.toThrow("does not exist");
    writeFileSync(join(tmp, "a,b"), "x");
    await expect(run({ secrets: [{ id: "c", file: join(tmp, "a,b") }] })).rejects.toBeInstanceOf(InputError);
  });

  test("refuseMounts: nothing to refuse passes; secrets or ssh are an input error", () => {
    expect(() => refuseMounts("x", defaultBuildOptions(), "why", "hint")).not.toThrow();
    expect(() => refuseMounts("docker flavor", defaultBuildOptions({ ssh: [{ id: "default" }] }), "no mounts", "h")).toThrow("The docker flavor cannot give RUN steps SSH forwarding: no mounts");
  });
});
