import { describe, expect, test } from "bun:test";
import { InputError } from "../errors.ts";
import { cleanPath, IgnoreMatcher } from "./ignore.ts";

const rules = (text: string) => IgnoreMatcher.parse(text).rules.map((r) => `${r.pattern.exclusion ? "!" : ""}${r.pattern.text}@${r.line}`);

/** The walk-time answer, built up parent by parent as fsutil does. */
function walkMatch(m: IgnoreMatcher, path: string): boolean {
  const parts = path.split("/");
  let info;
  for (let i = 1; i < parts.length; i++) info = m.matchWithParents(parts.slice(0, i).join("/"), info).info;
  return m.matchWithParents(path, info).excluded;
}

describe("reading an ignore file", () => {
  test("comments only at column 1, trimming, empty lines, BOM on line 1", () => {
    expect(rules("\ufeff# c\n #x\n\n  a  \n\t\n!  b \r\n# !c\n")).toEqual(["#x@2", "a@4", "!b@6"]);
  });

  test("a BOM after line 1 is part of the pattern", () => {
    expect(rules("a\n\ufeffb")).toEqual(["a@1", "\ufeffb@2"]);
  });

  test("path cleaning and one leading slash removed", () => {
    expect(rules("docs/\n./a/../b/\n/abs\n//two\n!/x/./y/\n.\n/")).toEqual(["docs@1", "b@2", "abs@3", "two@4", "!x/y@5", ".@6", "/@7"]);
  });

  test("cleanPath follows Go's path.Clean", () => {
    expect(["", "a//b", "a/./b/", "../a", "a/../..", "/../a", "./"].map(cleanPath)).toEqual([".", "a/b", "a/b", "../a", "..", "/a", "."]);
  });

  test.each([["!"], ["  !  "], ["!/"]])("%p alone is an error with file and line", (line) => {
    let err: unknown;
    try {
      IgnoreMatcher.parse(`ok\n${line}\n`, "/ctx/.dockerignore");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).location).toEqual({ file: "/ctx/.dockerignore", line: 2 });
  });

  test.each([["["], ["a["], ["a\\"], ["[]a]"], ["[-]"], ["[x-]"], ["[-x]"], ["[a-b-c]"], ["[^"], ["[^bc"], ["[Local-Only]/"]])("invalid pattern %p is an InputError at its line", (p) => {
    expect(() => IgnoreMatcher.parse(`# c\n${p}`, "f")).toThrow(InputError);
    try {
      IgnoreMatcher.parse(`# c\n${p}`, "f");
    } catch (e) {
      expect((e as InputError).location?.line).toBe(2);
      expect((e as InputError).message).toContain(`"${p}"`);
    }
  });
});

// moby/patternmatcher TestMatches (MatchesOrParentMatches): [pattern, path, matches].
const MOBY_CASES: [string, string, boolean][] = [
  ["**", "file", true], ["**", "dir/file", true], ["**/", "file", true], ["**/**", "dir/file", true],
  ["dir/**", "dir/file", true], ["dir/**", "dir/dir2/file", true], ["**/dir", "dir", true], ["**/dir", "dir/file", true],
  ["**/dir2/*", "dir/dir2/file", true], ["**/dir2/**", "dir/dir2/dir3/file", true],
  ["**file", "file", true], ["**file", "dir/file", true], ["**/file", "dir/file", true], ["**file", "dir/dir/file", true],
  ["**/file*", "dir/dir/file.txt", true], ["**/file*txt", "dir/dir/file.txt", true], ["**/file*.txt*", "dir/dir/file.txt", true],
  ["**/**/*.txt", "dir/dir/file.txt", true], ["**/**/*.txt2", "dir/dir/file.txt", false], ["**/*.txt", "file.txt", true],
  ["a**/*.txt", "a/file.txt", true], ["a**/*.txt", "a/dir/dir/file.txt", true], ["a/*.txt", "a/dir/file.txt", false],
  ["a/*.txt", "a/file.txt", true], ["a/*.txt**", "a/file.txt", true],
  ["a[b-d]e", "ae", false], ["a[b-d]e", "ace", true], ["a[b-d]e", "aae", false], ["a[^b-d]e", "aze", true],
  [".*", ".foo", true], [".*", "foo", false], ["abc.def", "abcdef", false], ["abc.def", "abc.def", true],
  ["abc?def", "abcZdef", true], ["abc?def", "abcdef", false], ["**/foo/bar", "dir/dir2/foo/bar", true],
  ["abc/**", "abc", false], ["abc/**", "abc/def/ghi", true], ["**/.foo", ".foo", true], ["**/.foo", "bar.foo", false],
  ["a(b)c/def", "a(b)c/def", true], ["a(b)c/def", "a(b)c/xyz", false], ["a.|)$(}+{bc", "a.|)$(}+{bc", true],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
  ["a\\\\", "a\\", true], ["a\\*b", "a*b", true], ["a\\*b", "ab", false],
  // Go's filepath.Match table, as patternmatcher runs it
  ["*c", "abc", true], ["a*", "ab/c", true], ["a*/b", "abc/b", true], ["a*/b", "a/c/b", false],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false], ["a*b?c*x", "abxbbxdbxebxczzx", true], ["a*b?c*x", "abxbbxdbxebxczzy", false],
  ["ab[^c]", "abc", false], ["ab[^e-g]", "abc", true], ["a?b", "a☺b", true], ["a[^a]b", "a☺b", true], ["a???b", "a☺b", false],
  ["[a-ζ]*", "α", true], ["*[a-ζ]", "A", false], ["a?b", "a/b", false], ["a*b", "a/b", false],
  ["[\\]a]", "]", true], ["[\\-]", "-", true], ["[x\\-]", "-", true], ["[x\\-]", "z", false], ["[\\-x]", "a", false], ["*x", "xxx", true],
  // case-sensitive; parents match
  ["Docs", "docs/x", false], ["docs", "docs/a/b", true], ["a/b", "a/b/c/d", true], ["*/b", "a/b/c", true],
];

describe("matching (buildkit dialect = moby/patternmatcher)", () => {
  test.each(MOBY_CASES)("%p vs %p -> %p", (pattern, path, want) => {
    const m = IgnoreMatcher.parse(pattern);
    expect(m.matches(path)).toBe(want);
    expect(walkMatch(m, path)).toBe(want);
  });

  test.each([
    [["**", "!util/docker/web"], "util/docker/web/foo", false],
    [["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true],
    [["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
    [["*.log", "!build.log", "build.log"], "build.log", true],
    [["*.log", "build.log", "!build.log"], "build.log", false],
  ] as [string[], string, boolean][])("last match wins: %p vs %p -> %p", (patterns, path, want) => {
    expect(IgnoreMatcher.parse(patterns.join("\n")).matches(path)).toBe(want);
  });
});

// The same rules appear as whole-context cases in test/context/dockerignore_vs_docker.test.ts.
describe("where the dialects differ", () => {
  const both = (text: string, path: string) => [IgnoreMatcher.parse(text).matches(path), IgnoreMatcher.parse(text, undefined, "legacy").matches(path)];
  test("regexp characters: escaped in buildkit, live in legacy", () => {
    expect(both("a+", "aa")).toEqual([false, true]);
    expect(both("a+", "a+")).toEqual([true, false]);
  });
  test("`**x` suffix fast path matches any name ending in x in buildkit only", () => {
    expect(both("**foo", "xfoo")).toEqual([true, false]);
  });
  test("legacy matches a parent only at the rule's own depth", () => {
    expect(both("**/c", "a/b/c/d")).toEqual([true, false]);
    // In buildkit the walk carries parent results, and "!a" never matched while "a" was not yet
    // excluded, so it cannot re-include a/b/c.txt; without walk state (matches()) it does.
    const text = "a/b/c.txt\n!a";
    expect([walkMatch(IgnoreMatcher.parse(text), "a/b/c.txt"), IgnoreMatcher.parse(text).matches("a/b/c.txt")]).toEqual([true, false]);
    expect(IgnoreMatcher.parse(text, undefined, "legacy").matches("a/b/c.txt")).toBe(false);
  });
});

describe("entering excluded directories", () => {
  test("no exceptions: skip", () => {
    expect(IgnoreMatcher.parse("a").canSkipDirectory("a")).toBe(true);
  });
  test("an exception below the directory: enter", () => {
    const m = IgnoreMatcher.parse("a\n!a/b/c");
    expect(m.canSkipDirectory("a")).toBe(false);
    expect(m.canSkipDirectory("a/b")).toBe(false);
    expect(m.canSkipDirectory("x")).toBe(true);
    expect(m.canSkipDirectory("a/bb")).toBe(true);
  });
  test("a trailing /** or /* of an exception is ignored for the prefix test", () => {
    expect(IgnoreMatcher.parse("b\n!b/keep/**").canSkipDirectory("b/keep")).toBe(false);
  });
  test("any wildcard exception: always enter (buildkit), prefix only (legacy)", () => {
    expect(IgnoreMatcher.parse("a\n!**/c.txt").canSkipDirectory("a")).toBe(false);
    expect(IgnoreMatcher.parse("a\n!**/c.txt", undefined, "legacy").canSkipDirectory("a")).toBe(true);
  });
});
