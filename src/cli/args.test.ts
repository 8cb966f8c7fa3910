import { describe, expect, test } from "bun:test";
import { UsageError } from "../errors.ts";
import { parseArgs } from "./args.ts";

const spec = {
  file: { type: "string", short: "f", description: "" },
  json: { type: "boolean", description: "" },
  set: { type: "strings", description: "" },
} as const;

/** The UsageError `fn` throws; fails the test when it throws nothing or something else. */
function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error("expected a UsageError, nothing was thrown");
}

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
    const e = usageError(() => parseArgs(["--fil", "x"], spec, "t"));
    expect(e.code).toBe("cli.unknown-option");
    expect(e.message).toBe("Unknown option '--fil' for 'imgb t'");
    expect(e.hint).toBe("did you mean '--file'?");
    expect(usageError(() => parseArgs(["--zzz"], spec, "t")).hint).toBe("see 'imgb t --help'");
  });
  test("missing value", () => expect(() => parseArgs(["--file"], spec, "t")).toThrow("needs a value"));
  test("boolean with a value", () => expect(() => parseArgs(["--json=yes"], spec, "t")).toThrow("takes no value"));
  test("a separate value that looks like an option is refused, not swallowed", () => {
    for (const argv of [["-f", "--json"], ["--file", "--json"], ["--set", "-x"], ["-f", "--"]]) {
      const e = usageError(() => parseArgs(argv, spec, "t"));
      expect(e.code).toBe("cli.missing-value");
      expect(e.message).toContain(`got the option '${argv[1]}'`);
      expect(e.hint).toBe(`a value that starts with '-' is written '--${argv[0] === "--set" ? "set" : "file"}=${argv[1]}'`);
    }
  });
  test("inline values may start with '-'; '-' alone is a value", () => {
    expect(parseArgs(["-f=--json"], spec, "t").options.file).toBe("--json");
    expect(parseArgs(["--file=--json"], spec, "t").options).toEqual({ file: "--json", json: false, set: [] });
    expect(parseArgs(["--set=-x"], spec, "t").options.set).toEqual(["-x"]);
    expect(parseArgs(["-f", "-"], spec, "t").options.file).toBe("-");
  });
});
