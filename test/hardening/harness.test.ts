/**
 * The harness itself: each house rule it checks is shown to fail on a run that breaks it, and a
 * real bad input passes through it. Also the private TMPDIR every test process gets.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { exec } from "../../src/exec.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { assessFailure, expectCleanFailure, snapshot } from "./_harness.ts";

afterAll(cleanupTempDirs);

const clean = { code: 2, stdout: "", stderr: "imgb.yaml:2:1: error: Unknown key 'bogus' (at /bogus) (hint: valid keys: images)\n", tmpLeft: [], changed: [] };

describe("private TMPDIR of the test process", () => {
  test("is this file's own directory inside the TMPDIR the run started with, and children get it", async () => {
    const outer = process.env.IMGB_TEST_OUTER_TMPDIR!;
    expect(outer).toBeDefined();
    expect(tmpdir()).not.toBe(outer);
    expect(dirname(dirname(tmpdir()))).toBe(outer);
    expect(basename(dirname(tmpdir()))).toStartWith("imgb-testrun-");
    expect(basename(tmpdir())).toEndWith("-harness.test.ts");
    expect(existsSync(tmpdir())).toBe(true);
    expect((await exec(["sh", "-c", 'printf %s "$TMPDIR"'])).stdout).toBe(tmpdir());
  });
});

describe("assessFailure", () => {
  test("a clean failure: no violations", () => {
    expect(assessFailure({ code: 2 }, clean)).toEqual([]);
    expect(assessFailure({ code: 2 }, { ...clean, stderr: `${clean.stderr}usage: imgb build [-f FILE]\n` })).toEqual([]);
    expect(assessFailure({ code: 2 }, { ...clean, stderr: "flavor/x.ts:3:1: error: Bad flavor\n" })).toEqual([]); // a .ts location is input, not a frame
  });

  test.each([
    ["wrong exit code", { code: 1 }, /exit code 1, expected 2/],
    ["no error line", { stderr: "something failed\n" }, /0 error lines/],
    ["two error lines", { stderr: "error: a\nerror: b\n" }, /2 error lines/],
    ["output before the error", { stderr: "progress\nerror: a\n" }, /1 line\(s\) before/],
    ["too much after the error", { stderr: "error: a\nhint 1\nhint 2\n" }, /2 lines after/],
    ["a stack frame", { stderr: "error: a\n    at run (/src/x.ts:3:9)\n" }, /stack trace/],
    ["a compiled frame", { stderr: "error: a\n/$bunfs/root/imgb 12:3\n" }, /stack trace|lines after/],
    ["a source position in the message", { stderr: "error: failed in exec.ts:12:3\n" }, /source position/],
    ["temp files left", { tmpLeft: ["imgb-docker-x"] }, /left in TMPDIR: imgb-docker-x/],
    ["a changed path", { changed: ["/w/imgb.yaml"] }, /changed: \/w\/imgb.yaml/],
    ["a printed secret", { stderr: "error: login failed for hunter2\n" }, /secret/],
  ])("%s is a violation", (_, override, message) => {
    const problems = assessFailure({ code: 2, secrets: ["hunter2"] }, { ...clean, ...override });
    expect(problems.join("; ")).toMatch(message);
  });

  test("output before the error line is allowed when asked for (a build's progress)", () => {
    expect(assessFailure({ code: 1, outputBefore: true }, { ...clean, code: 1, stderr: "app | => build\nerror: 1 of 1 images failed: app\n" })).toEqual([]);
  });

  test("snapshot sees content, mode and new entries", () => {
    const dir = tempDir("imgb-snap-");
    const f = join(dir, "a");
    writeFileSync(f, "1");
    const before = snapshot(dir);
    writeFileSync(f, "2");
    expect(snapshot(dir)).not.toBe(before);
    const again = snapshot(dir);
    writeFileSync(join(dir, "b"), "");
    expect(snapshot(dir)).not.toBe(again);
    expect(snapshot(join(dir, "nothing"))).toBe("absent");
  });
});

describe("expectCleanFailure against the binary", () => {
  test("an invalid stack file: exit 2, one line with file:line:col, the file untouched", async () => {
    const dir = tempDir("imgb-harness-case-");
    const file = join(dir, "imgb.yaml");
    // One mistake only: the image is otherwise complete (all errors are reported at once).
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n");
    writeFileSync(file, "images:\n  a: { context: . }\nbogus: 1\n");
    writeFileSync(join(dir, "Dockerfile"), "FROM scratch\n"); // one error only: validate also reports a missing Dockerfile
    const r = await expectCleanFailure({ args: ["validate", "-f", file], cwd: dir, code: 2, unchanged: [dir] });
    expect(r.errorLine).toStartWith(`${file}:3:1: error: Unknown key 'bogus'`);
  });

  test("a violation throws with the rule and the output", async () => {
    const dir = tempDir("imgb-harness-case-");
    writeFileSync(join(dir, "imgb.yaml"), "images:\n  a: { context: . }\nbogus: 1\n");
    const err = await expectCleanFailure({ args: ["validate"], cwd: dir, code: 1 }).catch((e) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("exit code 2, expected 1");
    expect((err as Error).message).toContain("Unknown key 'bogus'");
  });
});
