/**
 * File trees COPY reads from: the build context (its `files()` entries, inline content
 * included), and an image's root filesystem made from its gzip layers with whiteouts applied
 * (`.wh.name` deletes, `.wh..wh..opq` hides the lower layers' directory contents). Image file
 * contents are extracted to disk only for the paths a caller asks for.
 *
 * A context file keeps the snapshot's `identity`: whoever reads it (`readNode`, or a layer's
 * TarWriter) proves it is still the file the checksum pass hashed.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import type { BuildContext } from "../../src/context/build_context.ts";
import { readSnapshotFile, type FileIdentity } from "../../src/context/snapshot_file.ts";
import { writeError } from "../../src/errors.ts";
import { normalize, readLayerBlob } from "./layer_entries.ts";

export interface FsNode {
  type: "file" | "dir" | "symlink";
  mode: number;
  size: number;
  uid: number;
  gid: number;
  linkTarget?: string;
  /** Content on disk… */
  source?: string;
  /** …as the context snapshot saw it (context files only; image files are our own copies). */
  identity?: FileIdentity;
  /** …or in memory (small inline content). */
  data?: Uint8Array;
}

/** Paths are relative, without leading or trailing `/`. */
export type FileTree = Map<string, FsNode>;

export async function contextTree(context: BuildContext): Promise<FileTree> {
  const tree: FileTree = new Map();
  const list = await context.fileList(); // one entry object at a time, not an array of them beside the tree
  for (let i = 0; i < list.length; i++) {
    const e = list.at(i)!;
    if (e.type === "dir") tree.set(e.path, { type: "dir", mode: e.mode, size: 0, uid: 0, gid: 0 });
    else if (e.type === "symlink") tree.set(e.path, { type: "symlink", mode: 0o777, size: 0, uid: 0, gid: 0, linkTarget: e.linkTarget ?? "" });
    else if (e.source !== undefined) {
      // A hard link is sent as a link to its first path; a layer gets a plain copy.
      const size = e.identity?.size ?? e.size;
      const node: FsNode = { type: "file", mode: e.mode, size, uid: 0, gid: 0, source: e.source };
      if (e.identity) node.identity = e.identity;
      tree.set(e.path, node);
    } else {
      tree.set(e.path, { type: "file", mode: e.mode, size: e.size, uid: 0, gid: 0, data: e.content ?? new Uint8Array(0) });
    }
  }
  return tree;
}

/** A file node's content (its first `limit` bytes), a context file checked against the snapshot. */
export function readNode(node: FsNode, limit = Infinity): Uint8Array {
  if (node.data) return node.data.subarray(0, Math.min(limit, node.data.length));
  if (node.source === undefined) return new Uint8Array(0);
  if (node.identity) return readSnapshotFile(node.source, node.identity, limit);
  return readOwnFile(node.source, Math.min(limit, node.size));
}

/** A file this build extracted into its temp directory (nobody else writes there). */
function readOwnFile(path: string, size: number): Uint8Array {
  const buf = new Uint8Array(size);
  const fd = openSync(path, "r");
  try {
    let got = 0;
    for (let n = 1; got < size && n > 0; got += n) n = readSync(fd, buf, got, size - got, got);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** Apply one gzip layer blob to `tree`; extract contents of paths `want` accepts into `dir`. */
export async function applyLayerBlob(tree: FileTree, blob: string, want: (path: string) => boolean, dir: string): Promise<void> {
  const added = new Set<string>();
  const opaque: string[] = [];
  await readLayerBlob(blob, {
    opaque: (d) => void opaque.push(d),
    whiteout: (path) => removeSubtree(tree, path),
    entry: (path, h) => {
      added.add(path);
      const node: FsNode = { type: "file", mode: h.mode & 0o7777, size: h.size, uid: h.uid, gid: h.gid };
      if (h.type === "5") node.type = "dir";
      else if (h.type === "2") Object.assign(node, { type: "symlink", linkTarget: h.linkTarget });
      else if (h.type === "1") {
        const target = tree.get(normalize(h.linkTarget));
        if (target) tree.set(path, { ...target, mode: node.mode, uid: node.uid, gid: node.gid });
        return undefined;
      } else if (h.type !== "0") return undefined; // devices, FIFOs: not copyable
      if (node.type !== "dir") removeSubtree(tree, path);
      tree.set(path, node);
      if (node.type !== "file" || !want(path)) return undefined;
      const file = `${dir}/x${extracted++}`;
      node.source = file;
      let fd: number;
      try {
        fd = openSync(file, "w", 0o600);
      } catch (e) {
        throw writeError(e, "a file of a base image", file);
      }
      let left = h.size;
      if (left === 0) closeSync(fd);
      return (chunk) => {
        try {
          writeSync(fd, chunk);
        } catch (e) {
          closeSync(fd);
          throw writeError(e, "a file of a base image", file); // the build's temp dir is removed with it
        }
        left -= chunk.length;
        if (left === 0) closeSync(fd);
      };
    },
  });
  // Opaque directories hide what lower layers had below them, not what this layer added.
  for (const d of opaque) for (const key of [...tree.keys()]) if (key.startsWith(`${d}/`) && !added.has(key)) tree.delete(key);
}

let extracted = 0;

export { normalize };

function removeSubtree(tree: FileTree, path: string): void {
  tree.delete(path);
  const prefix = `${path}/`;
  for (const key of tree.keys()) if (key.startsWith(prefix)) tree.delete(key);
}
