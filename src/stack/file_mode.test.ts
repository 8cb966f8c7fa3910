import { describe, expect, test } from "bun:test";
import { parseMode } from "./file_mode.ts";

describe("file modes", () => {
  test("octal literals and octal strings are accepted", () => {
    expect(parseMode(0o755, "OCT")).toBe(0o755);
    expect(parseMode("0755")).toBe(0o755);
    expect(parseMode("0o644")).toBe(0o644);
    expect(parseMode(0o777, "OCT")).toBe(0o777);
    expect(parseMode(0)).toBe(0);
  });
  test("a decimal literal is refused, never converted", () => {
    expect(parseMode(755)).toEqual({ message: "File mode 755 is a decimal number, not octal" });
    expect(parseMode(493, "HEX")).toEqual({ message: "File mode 493 is a decimal number, not octal" });
  });
  test("beyond 0o777, negative, fractional, or not a number", () => {
    expect(parseMode(0o1000, "OCT")).toEqual({ message: "Invalid file mode 0o1000: permission bits go up to 0o777" });
    expect(parseMode("04755")).toEqual({ message: "Invalid file mode 0o4755: permission bits go up to 0o777" });
    expect(parseMode(-1)).toEqual({ message: "Invalid file mode -1: expected octal permission bits" });
    expect(parseMode(7.5)).toEqual({ message: "Invalid file mode 7.5: expected octal permission bits" });
    expect(parseMode("755")).toEqual({ message: "Invalid file mode '755': expected octal digits with a leading 0" });
    expect(parseMode("0789")).toEqual({ message: "Invalid file mode '0789': expected octal digits with a leading 0" });
    expect(parseMode(true)).toEqual({ message: "Invalid file mode: expected an octal number, got boolean" });
  });
});
