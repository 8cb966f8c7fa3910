import { describe, expect, test } from "bun:test";
import { depthBound, findExcessNesting, lexedExcess, MAX_NESTING } from "./nesting.ts";

const depthOf = (text: string): number => {
  // The smallest max that the text fits in.
  for (let max = 1; max < 200; max++) if (!findExcessNesting(text, max)) return max;
  return Infinity;
};

describe("findExcessNesting", () => {
  test("block mappings count one level per indentation", () => {
    expect(depthOf("a: 1\n")).toBe(1);
    expect(depthOf("images:\n  app:\n    extra_files:\n      x:\n        source: y\n")).toBe(5);
    expect(depthOf("a:\n  b:\n    c: 1\nd: 2\n")).toBe(3);
  });
  test("flow collections and compact sequence entries count", () => {
    expect(depthOf("a: [1, {b: [2]}]\n")).toBe(4);
    expect(depthOf("- - - x\n")).toBe(3);
    expect(depthOf("a:\n  - b: 1\n    c: 2\n")).toBe(3);
  });
  test("brackets in quotes, comments and block scalars are text, not structure", () => {
    expect(depthOf("a: '[[[['\nb: \"{{{\"\n# [[[[[\n")).toBe(1);
    expect(depthOf(`d: |\n  ${"[".repeat(500)}\n  ${"- ".repeat(300)}\ne: 1\n`)).toBe(1);
    expect(depthOf("d: >-\n\n  [[[\n\n  {{\ne: [1]\n")).toBe(2);
    expect(depthOf("- |\n- [x]\n")).toBe(2);
  });
  test("reports where the limit is crossed", () => {
    const text = `images: ${"[".repeat(20_000)}`;
    expect(findExcessNesting(text)).toEqual({ offset: "images: ".length + MAX_NESTING - 1, depth: MAX_NESTING + 1 });
    const block = Array.from({ length: 100 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n");
    expect(findExcessNesting(block)?.offset).toBe(block.indexOf(`k${MAX_NESTING}:`));
    expect(findExcessNesting(`a: ${"- ".repeat(100_000)}x`)?.depth).toBe(MAX_NESTING + 1);
  });
  test("linear: 500 KB of nesting is scanned quickly", () => {
    const t = performance.now();
    expect(findExcessNesting(`a: ${"{a: ".repeat(125_000)}`)).toBeDefined();
    expect(findExcessNesting(`a: ${"[1, ".repeat(125_000)}`, 1_000_000)).toBeUndefined();
    expect(performance.now() - t).toBeLessThan(3000);
  });
  test("the quick bound is never below the lexer's count (so a file under it may skip the lexer)", () => {
    const samples = [
      "a: 1\n",
      "images:\n  app:\n    extra_files:\n      x:\n        source: y\n",
      "a: [1, {b: [2]}]\n",
      "- - - x\n",
      "? - a\n  : - - b\n",
      "\uFEFF- [x]\n",
      "a:\n\t- b: 1\n\t  c: {d: [e]}\n",
      "x: |\n  [[[\ny:\n - - [1]\n",
      `a: ${"[".repeat(70)}`,
      Array.from({ length: 70 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n"),
      `a: ${"- ".repeat(80)}x`,
    ];
    for (const text of samples) {
      let exact = 1;
      while (lexedExcess(text, exact)) exact++;
      expect(depthBound(text)).toBeGreaterThanOrEqual(exact);
      // And the answer is the lexer's, for every limit.
      for (let max = 1; max <= exact + 1; max++) expect(findExcessNesting(text, max)).toEqual(lexedExcess(text, max));
    }
  });
});
