import { describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { quoteListingName } from "./_quote.ts";

describe("quoteListingName", () => {
  test("ordinary names, spaces and quotes inside are printed as they are", () => {
    for (const n of ["a.txt", "dir/sub file", "it's", "ünï/😀", "a\\b"]) expect(quoteListingName(n)).toBe(n);
  });
  test("control characters and a leading quote make a shell word", () => {
    expect(quoteListingName("a\nb")).toBe("'a'$'\\n''b'");
    expect(quoteListingName("x\x01")).toBe("'x'$'\\001'");
    expect(quoteListingName("'q")).toBe("\\''q'");
  });
  test("bash reads every quoted name back as the original", () => {
    const names = ["a\nb", "\ttab", "x\x01y\x7f", "'lead", "\"dq", "it's\nhere", "\x1b[31m"];
    for (const n of names) {
      const back = execFileSync("bash", ["-c", `printf %s ${quoteListingName(n)}`]).toString();
      expect(back).toBe(n);
    }
  });
});
