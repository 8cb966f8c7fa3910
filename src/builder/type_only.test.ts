import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Every import of a contract file that reaches outside src/builder, with whether it is `import type`. */
function outsideImports(): { file: string; line: string; typeOnly: boolean }[] {
  const dir = import.meta.dir;
  const found: { file: string; line: string; typeOnly: boolean }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))) {
    const text = readFileSync(join(dir, file), "utf8");
    for (const m of text.matchAll(/^(import|export)\s+(type\s+)?[^;]*?from\s+"([^"]+)";/gms)) {
      const from = m[3]!;
      if (from.startsWith("./")) continue;
      found.push({ file, line: m[0].replace(/\s+/g, " "), typeOnly: m[2] !== undefined });
    }
  }
  return found;
}

describe("the contract in src/builder is type-only", () => {
  test("nothing outside src/builder is imported as a value (no BuildContext, tar writer, walker)", () => {
    const imports = outsideImports();
    expect(imports.length).toBeGreaterThan(0); // the scan sees the contract's type imports
    expect(imports.filter((i) => !i.typeOnly)).toEqual([]);
  });
});
