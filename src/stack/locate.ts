/**
 * From a JSON path in the parsed value back to the YAML node it came from, so every error can
 * say file:line:col. Paths are JSON pointers (`/images/app/tags/0`), as TypeBox reports them.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair, type YAMLMap } from "yaml";
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
    // An alias stands for its anchor's node: the value is written there.
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = pairOf(doc, node, seg);
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

/**
 * The pair of `key` in `map`: its own, else the first one a merge key (`<<: *common`,
 * `<<: [*a, *b]`) brings in, which is where a merged value is written in the file.
 */
function pairOf(doc: Document, map: YAMLMap, key: string, depth = 0): Pair | undefined {
  const own = pairsByKey(map).get(key);
  if (own || depth > 8) return own;
  const merge = mergePairs.get(map)?.value;
  const sources = isSeq(merge) ? merge.items : merge ? [merge] : [];
  for (const source of sources) {
    const target = isAlias(source) ? source.resolve(doc) : source;
    const found = isMap(target) ? pairOf(doc, target, key, depth + 1) : undefined;
    if (found) return found;
  }
  return undefined;
}

/** The package parses a merge key to a symbol; a quoted "<<" is a plain key. */
function isMergeKey(value: unknown): boolean {
  return typeof value === "symbol" && value.description === "<<";
}

/**
 * A mapping's pairs by key text, built once per mapping: locating every error of a stack with
 * thousands of keys by scanning them each time was quadratic. The first pair of a key wins, as
 * `find` did. (The document is not changed after parsing, so the index stays true.)
 */
const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();
/** A mapping's merge key (`<<`), found by the same scan. */
const mergePairs = new WeakMap<YAMLMap, Pair>();
function pairsByKey(map: YAMLMap): Map<string, Pair> {
  let index = indexes.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) {
      if (isPair(p) && isScalar(p.key) && isMergeKey(p.key.value)) mergePairs.set(map, p as Pair);
      else if (isPair(p) && isScalar(p.key) && !index.has(String(p.key.value))) index.set(String(p.key.value), p as Pair);
    }
    indexes.set(map, index);
  }
  return index;
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
