/**
 * COPY/ADD semantics like Docker's: sources are paths or wildcards (Go filepath.Match per path
 * segment) inside the source tree; a directory source copies its contents (not itself) and
 * gives the destination directory its mode and owner (as BuildKit does); a file goes to
 * `dest` itself, or into it when `dest` ends with `/` or there are several sources; symlinks
 * are copied as links. The result is the layer's entries, sorted for the tar writer.
 */
import { posix } from "node:path";
import { InputError } from "../../src/errors.ts";
import { comparePaths } from "../../src/context/walk.ts";
import type { CopyOp } from "./evaluate.ts";
import type { LayerEntry } from "../../src/image/layer.ts";
import { normalize, type FileTree, type FsNode } from "./tree.ts";

export interface CopyInput {
  op: CopyOp;
  tree: FileTree;
  /** `--chown` resolved to numbers. */
  owner?: { uid: number; gid: number };
  /** Also write the destination's parent directories (FROM scratch: nothing exists yet). */
  withParents: boolean;
  /** What the sources are called in messages: "build context", "stage builder", … */
  origin: string;
  location: { file: string; line: number; col: number };
}

export function hasWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** Go's filepath.Match for one path segment, as a RegExp. */
function segmentRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i]!;
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "\\" && i + 1 < segment.length) re += escapeRe(segment[++i]!);
    else if (ch === "[") {
      const end = segment.indexOf("]", i + 2);
      if (end < 0) throw new Error(`syntax error in pattern ${JSON.stringify(segment)}`);
      let cls = segment.slice(i + 1, end);
      if (cls.startsWith("^")) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else re += escapeRe(ch);
  }
  return new RegExp(`^${re}$`);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Paths of `tree` matching `source` ("" is the root of the tree). */
export function matchSources(tree: FileTree, source: string): string[] {
  const clean = normalize(source);
  if (!hasWildcard(clean)) return clean === "" || tree.has(clean) ? [clean] : [];
  const segments = clean.split("/").map(segmentRegExp);
  const out: string[] = [];
  for (const path of tree.keys()) {
    const parts = path.split("/");
    if (parts.length === segments.length && parts.every((p, i) => segments[i]!.test(p))) out.push(path);
  }
  return out.sort(comparePaths);
}

export function copyEntries(input: CopyInput): LayerEntry[] {
  const { op, tree, owner } = input;
  const fail = (message: string, hint?: string) => new InputError("oci.copy", `${op.add ? "ADD" : "COPY"} failed: ${message}`, { location: input.location, ...(hint ? { hint } : {}) });
  const matches: string[] = [];
  for (const source of op.sources) {
    let found: string[];
    try {
      found = matchSources(tree, source);
    } catch (e) {
      throw fail((e as Error).message);
    }
    if (found.length === 0) {
      throw fail(`${JSON.stringify(source)} not found in the ${input.origin}`, input.origin === "build context" ? "check the path and the .dockerignore rules" : undefined);
    }
    matches.push(...found);
  }
  const intoDir = op.dirHint || matches.length > 1;
  if (matches.length > 1 && !op.dirHint) {
    throw fail(`with more than one source file the destination must be a directory ending in /: got ${JSON.stringify(op.instruction.text)}`);
  }
  const dest = normalize(op.dest);
  const out = new Map<string, LayerEntry>();
  const put = (path: string, node: FsNode) => {
    if (path === "") return; // the root directory's metadata is the base's
    out.set(path, entry(path, node, op.chmod, owner));
  };
  for (const match of matches) {
    const node: FsNode = match === "" ? { type: "dir", mode: 0o755, size: 0, uid: 0, gid: 0 } : tree.get(match)!;
    if (node.type === "dir") {
      put(dest, node);
      const prefix = match === "" ? "" : `${match}/`;
      for (const [path, child] of tree) {
        if (path.startsWith(prefix) && path !== match) put(join(dest, path.slice(prefix.length)), child);
      }
    } else put(intoDir ? join(dest, posix.basename(match)) : dest, node);
  }
  if (input.withParents) {
    for (const path of [...out.keys()]) {
      for (let p = posix.dirname(path); p !== "." && !out.has(p); p = posix.dirname(p)) {
        out.set(p, { path: p, type: "dir", mode: 0o755, size: 0 });
      }
    }
  }
  return [...out.values()].sort((a, b) => comparePaths(a.path, b.path));
}

const join = (a: string, b: string) => (a === "" ? b : b === "" ? a : `${a}/${b}`);

function entry(path: string, node: FsNode, chmod: number | undefined, owner: { uid: number; gid: number } | undefined): LayerEntry {
  const e: LayerEntry = { path, type: node.type, mode: node.type === "symlink" ? 0o777 : chmod ?? node.mode, size: node.type === "file" ? node.size : 0 };
  if (node.linkTarget !== undefined) e.linkTarget = node.linkTarget;
  if (node.source !== undefined) e.source = node.source;
  if (node.identity !== undefined) e.identity = node.identity;
  if (node.data !== undefined) e.data = node.data;
  // Docker: copied files belong to 0:0 unless --chown says otherwise (also from other stages).
  const uid = owner?.uid ?? 0;
  const gid = owner?.gid ?? 0;
  if (uid !== 0) e.uid = uid;
  if (gid !== 0) e.gid = gid;
  return e;
}
