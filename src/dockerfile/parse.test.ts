import { describe, expect, test } from "bun:test";
import { InputError } from "../errors.ts";
import { parseDockerfile } from "./parse.ts";

describe("parseDockerfile", () => {
  test("directives, comments, continuations, line numbers", () => {
    const df = parseDockerfile(
      ["# syntax=docker/dockerfile:1", "# escape=`", "", "# a comment", "FROM scratch", "COPY a `", "  # inside", "", "  b /c/", "env X=1"].join("\n"),
      "Dockerfile",
    );
    expect(df.escape).toBe("`");
    expect(df.syntax).toBe("docker/dockerfile:1");
    expect(df.instructions.map((i) => [i.keyword, i.args, i.line])).toEqual([
      ["FROM", "scratch", 5],
      ["COPY", "a   b /c/", 6],
      ["ENV", "X=1", 10],
    ]);
  });

  test("directives only at the top", () => {
    const df = parseDockerfile("FROM scratch\n# escape=`\nCOPY a \\\n b /\n", "D");
    expect(df.escape).toBe("\\");
    expect(df.instructions[1]!.args).toBe("a  b /");
  });

  test("flags and JSON form", () => {
    const [copy, cmd, shell, cmdFlag] = parseDockerfile('COPY --from=build --chown=1:2 --link ["a b", "/c"]\nCMD ["x", "y"]\nCMD [not json\nCMD --help', "D").instructions;
    expect(copy!.flags).toEqual({ from: "build", chown: "1:2", link: "true" });
    expect(copy!.json).toEqual(["a b", "/c"]);
    expect(cmd!.json).toEqual(["x", "y"]);
    expect(shell!.json).toBeUndefined();
    expect(cmdFlag!.args).toBe("--help");
  });

  test("heredocs are a located error", () => {
    try {
      parseDockerfile("FROM scratch\nCOPY <<EOF /x\nhi\nEOF\n", "D");
      throw new Error("no error");
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).location).toEqual({ file: "D", line: 2, col: 1 });
    }
  });

  test("invalid escape directive", () => {
    expect(() => parseDockerfile("# escape=x\nFROM scratch", "D")).toThrow("Invalid escape directive");
  });
});
