/**
 * Rules every test file follows, checked statically so a new suite cannot quietly break them:
 * - a skip is decided by requireEngine()/requireTool() (CI=true turns "missing" into a failure),
 *   never by a condition of the suite's own, and never by printing "skip" and returning;
 * - temp files come from tmpdir() (the private TMPDIR of test/helpers/preload.ts), never from a
 *   hard-coded "/tmp/…" path that other imgb processes share.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { repoRoot } from "./binary.ts";

const files = [...new Bun.Glob("{src,flavors,test}/**/*.test.ts").scanSync({ cwd: repoRoot })].sort();

/** Names bound to `await requireEngine(…)` / `await requireTool(…)` in `text`. */
function requireBindings(text: string): Set<string> {
  return new Set([...text.matchAll(/const (\w+) = (?:\w+ && )?\(?await require(?:Engine|Tool)\(/g)].map((m) => m[1]!));
}

test("the scan finds the suites", () => {
  expect(files.length).toBeGreaterThan(30);
  expect(files).toContain("test/engines/cancel.e2e.test.ts");
});

/** The lines of `text` that skip on their own condition (1-based line: what). */
function skipViolations(text: string): string[] {
  const bound = requireBindings(text);
  const bad: string[] = [];
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/\.skipIf\((.*?)\)\(/g)) {
      const cond = m[1]!.trim();
      const direct = /^!\(await require(Engine|Tool)\(/.test(cond);
      const viaName = /^!(\w+)$/.test(cond) && bound.has(cond.slice(1));
      if (!direct && !viaName) bad.push(`${i + 1}: skipIf(${cond})`);
    }
    if (/\b(test|it|describe)\.skip\(/.test(line)) bad.push(`${i + 1}: .skip()`);
    if (/console\.log\(\s*["'`]skip/.test(line)) bad.push(`${i + 1}: prints "skip" itself`);
  });
  return bad;
}

const self = relative(repoRoot, import.meta.path);
const others = files.filter((f) => f !== self);

test("every skipIf is decided by requireEngine() or requireTool()", () => {
  const bad = others.flatMap((file) => skipViolations(readFileSync(join(repoRoot, file), "utf8")).map((v) => `${file}:${v}`));
  expect(bad).toEqual([]);
});

test("no test writes to a hard-coded /tmp path", () => {
  const bad = others.flatMap((file) =>
    readFileSync(join(repoRoot, file), "utf8")
      .split("\n")
      .flatMap((line, i) => (/(mkdtemp|writeFile|mkdir)\w*\(\s*["'`]\/tmp\//.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
  expect(bad).toEqual([]);
});

test("the checks catch what they look for", () => {
  const ok = 'const ready = await requireEngine("docker");\ndescribe.skipIf(!ready)("a", () => {});\ntest.skipIf(!(await requireTool("x")))("b", () => {});\n';
  expect(skipViolations(ok)).toEqual([]);
  const bad = 'const have = Bun.which("x") !== null;\ndescribe.skipIf(!have)("a", () => {});\ntest.skipIf(!existsSync("/x"))("b", () => {});\ntest.skip("c", () => {});\n  console.log("skip: no x");\n';
  expect(skipViolations(bad)).toEqual(["2: skipIf(!have)", '3: skipIf(!existsSync("/x"))', "4: .skip()", '5: prints "skip" itself']);
});
