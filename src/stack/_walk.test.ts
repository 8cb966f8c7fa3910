import { describe, expect, test } from "bun:test";
import { isScalar, parseDocument } from "yaml";
import { forEachNode } from "./_walk.ts";

describe("forEachNode", () => {
  test("visits every node in document order: keys before their values", () => {
    const doc = parseDocument("a: [1, {b: 2}]\nc: &x 3\nd: *x\n");
    const seen: string[] = [];
    forEachNode(doc, (n) => seen.push(isScalar(n) ? String(n.value) : n.constructor.name));
    expect(seen).toEqual(["YAMLMap", "a", "YAMLSeq", "1", "YAMLMap", "b", "2", "c", "3", "d", "Alias"]);
  });
  test("an empty document has nothing to visit; 2,000 levels are walked without recursion", () => {
    let n = 0;
    forEachNode(parseDocument(""), () => n++);
    expect(n).toBe(0);
    const deep = parseDocument(`${"[".repeat(2000)}${"]".repeat(2000)}`);
    forEachNode(deep, () => n++);
    expect(n).toBe(2000);
  });
});
