/**
 * From a JSON path in the parsed value back to the YAML node it came from, so every error can
 * say file:line:col. Paths are JSON pointers (`/images/app/tags/0`), as TypeBox reports them.
 */
import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import type { Location } from "../errors.ts";

export function pointerSegments(pointer: string): string[] {
  if (pointer === "" || pointer === "/") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function toPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

/**
 * The node at `segments`, or the deepest existing ancestor. With `key`, the key node of the
 * last segment (for "unknown key" errors, the key is what is wrong).
 */
export function nodeAt(doc: Document, segments: readonly string[], key = false): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined = (doc.contents as Node | null) ?? undefined;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) return last;
      const isLast = i === segments.length - 1;
      if (isLast && key && pair.key) return pair.key as Node;
      node = pair.value;
      if (node == null) return (pair.key as Node) ?? last;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item == null) return last;
      node = item;
    } else {
      return last;
    }
    last = node as Node;
  }
  return last;
}

export function locate(
  doc: Document,
  lines: LineCounter,
  file: string,
  pointer: string,
  opts: { key?: boolean } = {},
): Location {
  const node = nodeAt(doc, pointerSegments(pointer), opts.key);
  const offset = node?.range?.[0];
  if (offset === undefined) return { file, path: pointer };
  const pos = lines.linePos(offset);
  return { file, line: pos.line, col: pos.col, path: pointer };
}

export function locateOffset(lines: LineCounter, file: string, offset: number, pointer?: string): Location {
  const pos = lines.linePos(offset);
  return { file, line: pos.line, col: pos.col, ...(pointer === undefined ? {} : { path: pointer }) };
}
