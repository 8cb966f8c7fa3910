import { describe, expect, test } from "bun:test";
import { interpolate, type InterpolationProblem } from "./interpolate.ts";

const env = { A: "a", EMPTY: "", PATHY: "/x/y" };
const run = (s: string) => {
  const problems: InterpolationProblem[] = [];
  return { value: interpolate(s, env, problems), problems };
};

describe("interpolate", () => {
  test.each([
    ["plain", "plain"],
    ["${A}", "a"],
    ["x-${A}-y", "x-a-y"],
    ["${NOPE:-dflt}", "dflt"],
    ["${EMPTY:-dflt}", "dflt"],
    ["${EMPTY-dflt}", ""],
    ["${NOPE-dflt}", "dflt"],
    ["${NOPE:-${A}}", "a"],
    ["${NOPE:-a:b}", "a:b"],
    ["$${A}", "${A}"],
    ["$$", "$"],
    ["cost $5", "cost $5"],
    ["${images.base.ref}", "${images.base.ref}"],
    ["${images.team/base.digest}", "${images.team/base.digest}"],
  ])("%p -> %p", (input, expected) => {
    const r = run(input);
    expect(r.problems).toEqual([]);
    expect(r.value).toBe(expected);
  });

  test("unset variable without default is a problem at its offset", () => {
    const r = run("tag-${GIT_SHA}");
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]!.offset).toBe(4);
    expect(r.problems[0]!.message).toBe("Environment variable 'GIT_SHA' is not set");
  });

  test(":? gives the user's message", () => {
    expect(run("${NOPE:?set NOPE to the stage}").problems[0]!.message).toContain("set NOPE to the stage");
    expect(run("${EMPTY:?x}").problems).toHaveLength(1);
    expect(run("${EMPTY?x}").problems).toHaveLength(0);
  });

  test("invalid names and unterminated references", () => {
    expect(run("${1A}").problems[0]!.message).toContain("Invalid variable name '1A'");
    expect(run("${A").problems[0]!.message).toContain("Unterminated");
  });
});
