import { describe, expect, test } from "bun:test";
import { InputError } from "../errors.ts";
import { dockerfileName, parseDockerfile } from "./parse.ts";

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

describe("errors never quote the file", () => {
  const err = (text: string) => {
    try {
      parseDockerfile(text, "/etc/passwd");
    } catch (e) {
      return e as InputError;
    }
    throw new Error("expected an error");
  };
  test("a line that is no instruction: its line, no text of it", () => {
    const e = err("root:x:0:0:root:/root:/bin/bash\n");
    expect(e.describe()).toBe("/etc/passwd:1:1: Unknown instruction on line 1: not a Dockerfile keyword");
    expect(e.hint).toBe("is 'dockerfile' pointing at a Dockerfile?");
    expect(JSON.stringify(e)).not.toMatch(/root|bash/i);
  });
  test("a misspelt keyword gets the real keyword as a suggestion, not itself", () => {
    const e = err("FROM scratch\nCOPPY secret-token /x\n");
    expect(e.describe()).toBe("/etc/passwd:2:1: Unknown instruction on line 2: not a Dockerfile keyword");
    expect(e.hint).toBe("did you mean COPY?");
  });
  test("heredocs and directives name the keyword only", () => {
    expect(err("FROM scratch\nCOPY <<EOF /x\nsecret\nEOF\n").message).toBe("Heredocs are not supported by the 'oci' flavor (in COPY)");
    expect(err("# escape=hunter2\nFROM scratch\n").message).not.toContain("hunter2");
  });
});

describe("dockerfileName", () => {
  test("imgb's own copy is named after the user's file", () => {
    expect(dockerfileName(".imgb/Dockerfile", "/work/docker/app.Dockerfile")).toBe("/work/docker/app.Dockerfile");
    expect(dockerfileName(".imgb/Dockerfile", undefined)).toBe("dockerfile_inline");
    expect(dockerfileName("build/Dockerfile", "/ctx/build/Dockerfile")).toBe("build/Dockerfile");
  });
});
