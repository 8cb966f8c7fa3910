/**
 * Extra files of a build context (stack `extra_files`, an inline Dockerfile): validated
 * destinations and their merge over the walked tree. Extras are never filtered by ignore rules.
 */
import { statSync } from "node:fs";
import { InputError, type Location } from "../errors.ts";
import { contextDestination } from "./destination.ts";
import { ioError, statEntry, walkContext, type WalkEntry } from "./walk.ts";

/** `location`: where the extra was declared (a stack's JSON path), for errors about it. */
export type Extra =
  | { kind: "file"; source: string; mode?: number; location?: Location }
  | { kind: "content"; data: Uint8Array; mode: number; location?: Location }
  | { kind: "dir"; source: string; location?: Location };

/** A context entry before ordering, with what is needed to read it and detect hard links. */
export interface Node extends WalkEntry {
  data?: Uint8Array;
  /** Extras are never collapsed into hard links. */
  extra?: boolean;
}

/** A clean relative POSIX destination, or InputError for one that is empty or escapes. */
export function checkDestination(destination: string, location?: Location): string {
  const cleaned = contextDestination(destination);
  if (cleaned === undefined) {
    throw new InputError("context.destination", `Invalid destination "${destination}" in the build context: it must be a relative path inside the context, without ".."`, {
      location,
      hint: 'Use a path like "config/app.yaml"',
    });
  }
  return cleaned;
}

/**
 * Put `node` at its path, replacing what was there (and below it) and making parent dirs. A
 * parent that is a symlink is refused: the entry would be extracted through the link.
 */
function place(tree: Map<string, Node>, node: Node, location?: Location): void {
  // A file over a directory replaces the whole subtree; a directory over a directory merges.
  if (node.type !== "dir" && tree.get(node.path)?.type === "dir") {
    for (const key of tree.keys()) if (key.startsWith(`${node.path}/`)) tree.delete(key);
  }
  const parts = node.path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (tree.get(dir)?.type === "symlink") {
      throw new InputError("context.destination-symlink", `Extra file destination "${node.path}" goes below "${dir}", a symlink in the build context`, {
        location,
        hint: "Choose a destination that is not under a symlink of the context, or ignore the link in .dockerignore",
      });
    }
    if (tree.get(dir)?.type !== "dir") {
      tree.set(dir, { path: dir, type: "dir", mode: 0o755, size: 0, source: "", dev: 0, ino: 0, nlink: 1, extra: true });
    }
  }
  tree.set(node.path, node);
}

/** Merge extras over `tree` in the order they were added (a later extra wins). */
export function applyExtras(tree: Map<string, Node>, extras: Iterable<[string, Extra]>, onWarning?: (m: string) => void): void {
  for (const [dest, extra] of extras) {
    if (extra.kind === "content") {
      place(tree, { path: dest, type: "file", mode: extra.mode, size: extra.data.length, data: extra.data, source: "", dev: 0, ino: 0, nlink: 1, extra: true }, extra.location);
      continue;
    }
    let st;
    try {
      // The extra's own path is followed (the user named a file); inside a directory, links are kept.
      st = statSync(extra.source);
    } catch (e) {
      throw ioError("read extra file", extra.source, e);
    }
    const node = statEntry(dest, extra.source, st);
    if (!node) throw new InputError("context.extra-kind", `Extra file "${extra.source}" is not a regular file, directory or symlink`);
    if (extra.kind === "file") {
      if (node.type === "dir") throw new InputError("context.extra-kind", `Extra file "${extra.source}" is a directory: add it as a directory`);
      place(tree, { ...node, mode: extra.mode ?? node.mode, extra: true }, extra.location);
      continue;
    }
    if (node.type !== "dir") throw new InputError("context.extra-kind", `Extra directory "${extra.source}" is not a directory`);
    place(tree, { ...node, extra: true }, extra.location);
    for (const e of walkContext(extra.source, { onWarning })) place(tree, { ...e, source: e.source, path: `${dest}/${e.path}`, extra: true }, extra.location); // source: a getter, not copied by the spread
  }
}
