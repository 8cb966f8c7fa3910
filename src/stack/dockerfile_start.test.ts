import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { badFirstInstruction, readDockerfileStart } from "./dockerfile_start.ts";

afterAll(cleanupTempDirs);

describe("badFirstInstruction", () => {
  test("Dockerfiles start with FROM or ARG after directives, comments and blank lines", () => {
    for (const ok of ["FROM scratch", "from x AS y", "\uFEFF# escape=`\n\n# c\n  ARG V=1\nFROM x", "", "# only a comment\n", "FROM a\nBOGUS b\n"]) {
      expect(badFirstInstruction(ok)).toBeUndefined();
    }
  });
  test("anything else is not a Dockerfile: the line is reported", () => {
    expect(badFirstInstruction("root:x:0:0:root:/root:/bin/bash\n")).toBe(1);
    expect(badFirstInstruction("# escape=\\\n\n# hi\nRUN x\n")).toBe(4);
    expect(badFirstInstruction("-----BEGIN OPENSSH PRIVATE KEY-----\n")).toBe(1);
  });
  test("a # syntax= frontend may define its own language", () => {
    expect(badFirstInstruction("# syntax=example/frontend\nanything goes\n")).toBeUndefined();
  });
});

describe("readDockerfileStart", () => {
  test("reads a regular file; a FIFO is not read (and does not block)", () => {
    const dir = tempDir();
    writeTree(dir, { Dockerfile: "FROM scratch\n" });
    expect(readDockerfileStart(join(dir, "Dockerfile"))).toBe("FROM scratch\n");
    execFileSync("mkfifo", [join(dir, "pipe")]);
    expect(readDockerfileStart(join(dir, "pipe"))).toBeUndefined();
    expect(readDockerfileStart(join(dir, "missing"))).toBeUndefined();
  });
});
