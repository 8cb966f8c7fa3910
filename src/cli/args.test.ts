import { describe, expect, test } from "bun:test";
import { UsageError } from "../errors.ts";
import { parseArgs } from "./args.ts";

const spec = {
  file: { type: "string", short: "f", description: "" },
  json: { type: "boolean", description: "" },
  set: { type: "strings", description: "" },
} as const;

describe("parseArgs", () => {
  test("long, short, inline and separate values", () => {
    const a = parseArgs(["-f", "a.yaml", "--json", "--set=x=1", "--set", "y=2", "img"], spec, "t");
    expect(a.options).toEqual({ file: "a.yaml", json: true, set: ["x=1", "y=2"] });
    expect(a.positionals).toEqual(["img"]);
    expect(parseArgs(["-fa.yaml"], spec, "t").options.file).toBe("a.yaml");
    expect(parseArgs(["--file=b"], spec, "t").options.file).toBe("b");
  });
  test("-- ends options; - is a positional", () => {
    expect(parseArgs(["--", "--json"], spec, "t").positionals).toEqual(["--json"]);
    expect(parseArgs(["-"], spec, "t").positionals).toEqual(["-"]);
  });
  test("--no-x turns a boolean off", () => expect(parseArgs(["--json", "--no-json"], spec, "t").options.json).toBe(false));
  test("unknown option is a usage error with a suggestion", () => {
    expect(() => parseArgs(["--jsn"], spec, "t")).toThrow(UsageError);
    try {
      parseArgs(["--fil", "x"], spec, "t");
    } catch (e) {
      expect((e as UsageError).hint).toContain("--file");
    }
  });
  test("missing value", () => expect(() => parseArgs(["--file"], spec, "t")).toThrow("needs a value"));
  test("boolean with a value", () => expect(() => parseArgs(["--json=yes"], spec, "t")).toThrow("takes no value"));
});
