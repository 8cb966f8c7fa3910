import { describe, expect, test } from "bun:test";
import { processWord, splitWords, WordError } from "./words.ts";

const env = new Map([
  ["A", "alpha"],
  ["EMPTY", ""],
  ["SPACE", "a b"],
]);
const w = (s: string, escape = "\\") => processWord(s, env, escape);

describe("processWord (BuildKit shell lexer)", () => {
  test.each([
    ["$A", "alpha"],
    ["${A}", "alpha"],
    ["x${A}y", "xalphay"],
    ["$A-1", "alpha-1"],
    ["$UNSET", ""],
    ["${UNSET:-def}", "def"],
    ["${EMPTY:-def}", "def"],
    ["${EMPTY-def}", ""],
    ["${UNSET-def}", "def"],
    ["${A:+set}", "set"],
    ["${EMPTY:+set}", ""],
    ["${EMPTY+set}", "set"],
    ["${UNSET+set}", ""],
    ["${UNSET:-${A}}", "alpha"],
    ["'$A'", "$A"],
    ['"$A"', "alpha"],
    ['"a\\"b"', 'a"b'],
    ['"a\\nb"', "a\\nb"],
    ["\\$A", "$A"],
    ["a\\ b", "a b"],
    ["$", "$"],
    ["a$", "a$"],
    ["$1x", "x"],
    ['"${SPACE}"', "a b"],
  ])("%s -> %s", (input, expected) => {
    expect(w(input)).toBe(expected);
  });

  test("backtick escape", () => {
    expect(w("`$A", "`")).toBe("$A");
    expect(w("C:\\dir", "`")).toBe("C:\\dir");
  });

  test("errors", () => {
    expect(() => w("${UNSET:?is required}")).toThrow("UNSET: is required");
    expect(() => w("${EMPTY:?}")).toThrow(WordError);
    expect(w("${EMPTY?x}")).toBe("");
    expect(() => w("${A")).toThrow("missing '}'");
    expect(() => w("'abc")).toThrow("single-quote");
    expect(() => w('"abc')).toThrow("double-quote");
    expect(() => w("${A%%x}")).toThrow("unsupported modifier");
  });
});

describe("splitWords", () => {
  test("keeps quotes, splits on unquoted whitespace", () => {
    expect(splitWords('A=1 B="two words" C=\'x y\'  D=a\\ b')).toEqual(["A=1", 'B="two words"', "C='x y'", "D=a\\ b"]);
  });
});
