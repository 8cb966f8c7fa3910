import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { InputError } from "../../src/errors.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { prepareSecrets } from "./run_secrets.ts";
import type { SecretMount } from "./run.ts";

afterAll(cleanupTempDirs);

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const mount = (id: string, target = `/run/secrets/${id}`, extra: Partial<SecretMount> = {}): SecretMount => ({ id, target, required: false, mode: 0o400, uid, gid, ...extra });
const where = { file: "Dockerfile", line: 3, col: 1 };

describe("prepareSecrets", () => {
  test("private copies with the mount's mode, mount points made and removed again, values for redaction", () => {
    const root = tempDir("imgb-secroot-");
    const tmp = tempDir("imgb-sectmp-");
    writeTree(root, { "etc/hosts": "h" });
    writeTree(tmp, { "file-secret": "from a file\n" });
    const p = prepareSecrets(root, tmp, [mount("a"), mount("b", "/etc/b.pem", { mode: 0o440 }), mount("none")], [{ id: "a", env: "SECRET_A" }, { id: "b", file: `${tmp}/file-secret` }], where, { SECRET_A: "value-of-a" });
    expect(p.absent).toEqual(["none"]);
    expect(p.binds.map((b) => b.target)).toEqual(["run/secrets/a", "etc/b.pem"]);
    expect(readFileSync(p.binds[0]!.source, "utf8")).toBe("value-of-a");
    expect(lstatSync(p.binds[1]!.source).mode & 0o777).toBe(0o440);
    expect(p.redact).toContain("value-of-a");
    expect(p.redact).toContain("from a file");
    expect([...p.made]).toEqual(["run", "run/secrets", "run/secrets/a", "etc/b.pem"]);
    expect(lstatSync(`${root}/run/secrets/a`).size).toBe(0); // the mount point, not the value
    expect([...p.transient()].sort()).toEqual(["etc/b.pem", "run", "run/secrets", "run/secrets/a"]);
    p.cleanup();
    expect(readdirSync(root)).toEqual(["etc"]);
    expect(readdirSync(`${root}/etc`)).toEqual(["hosts"]);
    expect(readdirSync(tmp)).toEqual(["file-secret"]);
  });

  test("a directory made for a mount that the step filled is the step's: not transient, not removed", () => {
    const root = tempDir("imgb-secroot-");
    const tmp = tempDir("imgb-sectmp-");
    const p = prepareSecrets(root, tmp, [mount("a")], [{ id: "a", env: "S" }], where, { S: "v" });
    writeFileSync(`${root}/run/pid`, "1");
    expect([...p.transient()].sort()).toEqual(["run/secrets", "run/secrets/a"]);
    p.cleanup();
    expect(readdirSync(`${root}/run`)).toEqual(["pid"]);
  });

  test("a required secret the build lacks, an unset variable, a target that is a directory: errors, nothing left", () => {
    const root = tempDir("imgb-secroot-");
    const tmp = tempDir("imgb-sectmp-");
    writeTree(root, { "etc/dir/x": "x" });
    const err = (() => {
      try {
        prepareSecrets(root, tmp, [mount("a"), mount("b", "/run/secrets/b", { required: true })], [{ id: "a", env: "S" }], where, { S: "v" });
      } catch (e) {
        return e as InputError;
      }
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err!.describe()).toBe("Dockerfile:3:1: RUN --mount=type=secret,id=b is required, and the image has no secret 'b'");
    expect(() => prepareSecrets(root, tmp, [mount("a")], [{ id: "a", env: "UNSET" }], where, {})).toThrow("'UNSET', which is not set");
    expect(() => prepareSecrets(root, tmp, [mount("a", "/etc/dir")], [{ id: "a", env: "S" }], where, { S: "v" })).toThrow("is not a file");
    expect(readdirSync(root)).toEqual(["etc"]);
    expect(readdirSync(tmp)).toEqual([]);
    expect(existsSync(`${root}/run`)).toBe(false);
  });
});
