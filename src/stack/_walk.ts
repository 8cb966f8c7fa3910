/**
 * Every node of a YAML document in document order, without recursion and without building a
 * path per node. The package's `visit` freezes a fresh copy of the path at every node, which made
 * a 1 MiB stack nested 60 levels deep take seconds per pass.
 */
import { isMap, isPair, isSeq, type Document, type Node } from "yaml";

export function forEachNode(doc: Document, fn: (node: Node) => void): void {
  const stack: unknown[] = [doc.contents];
  while (stack.length) {
    const item = stack.pop();
    if (item === null || item === undefined) continue;
    if (isPair(item)) {
      stack.push(item.value, item.key);
      continue;
    }
    fn(item as Node);
    if (isMap(item) || isSeq(item)) for (let i = item.items.length - 1; i >= 0; i--) stack.push(item.items[i]);
  }
}
