/**
 * Layering, enforced (after go-containerregistry's depcheck_test): the contract in src/builder
 * has no engine code and no CLI; flavors depend on the contract, never on the CLI; library code
 * never prints or exits (only src/main.ts does).
 */
import { describe, expect, test } from "bun:test";
import { Glob } from "bun";
import { dirname, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const sources = (pattern: string) => [...new Glob(pattern).scanSync(root)].filter((f) => !f.endsWith(".test.ts"));

function imports(file: string): string[] {
  const text = require("node:fs").readFileSync(resolve(root, file), "utf8") as string;
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["']([^"']+)["']/g)) {
    const spec = m[1]!;
    out.push(spec.startsWith(".") ? relative(root, resolve(root, dirname(file), spec)) : spec);
  }
  return out;
}

const rules: { files: string; forbidden: RegExp; why: string }[] = [
  { files: "src/builder/**/*.ts", forbidden: /^(flavors\/|src\/cli\/|src\/registry\/|src\/main|src\/stack\/|src\/exec)/, why: "the contract holds no engine, CLI or stack code" },
  { files: "flavors/**/*.ts", forbidden: /^(src\/cli\/|src\/main|src\/registry\/|src\/stack\/load)/, why: "flavors depend on the contract, never on the CLI" },
  { files: "src/context/**/*.ts", forbidden: /^(flavors\/|src\/cli\/|src\/main|src\/registry\/)/, why: "the build context is engine- and CLI-free" },
  { files: "src/stack/**/*.ts", forbidden: /^(flavors\/|src\/cli\/|src\/main)/, why: "stack loading knows flavors only through the registry" },
  { files: "src/image/**/*.ts", forbidden: /^(flavors\/|src\/(cli|stack|build|registry|dockerfile|store)\/|src\/main|src\/exec)/, why: "the image library knows registries and images, not flavors, stacks or builds" },
];

describe("layering", () => {
  for (const rule of rules) {
    test(`${rule.files}: ${rule.why}`, () => {
      const files = sources(rule.files);
      expect(files.length).toBeGreaterThan(0);
      const bad = files.flatMap((f) => imports(f).filter((i) => rule.forbidden.test(i)).map((i) => `${f} imports ${i}`));
      expect(bad).toEqual([]);
    });
  }

  test("only src/main.ts exits or writes to the terminal", () => {
    const offenders: string[] = [];
    for (const f of [...sources("src/**/*.ts"), ...sources("flavors/**/*.ts")]) {
      if (f === "src/main.ts") continue;
      const text = require("node:fs").readFileSync(resolve(root, f), "utf8") as string;
      if (/\bprocess\.exit\(|console\.(log|error|warn)\(|process\.std(out|err)\.write\(/.test(text)) offenders.push(f);
    }
    expect(offenders).toEqual([]);
  });
});
