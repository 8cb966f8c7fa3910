/**
 * What a RUN step changed, as a layer: the root filesystem's metadata is recorded before the
 * step (path -> lstat type, mode, size, mtime, ctime, inode, owner, link target), walked again
 * after it, and the difference becomes layer entries, the way docker's and kaniko's snapshotters
 * do it without an overlay file system:
 *
 * - added or changed paths (files, directories, symlinks) are written as they are now, with
 *   their parent directories; paths sharing an inode become one file and hard links to it;
 * - a deleted path becomes a `.wh.NAME` whiteout in its parent (only the topmost deleted one);
 * - a directory replaced by a new one (another inode) gets a `.wh..wh..opq` marker, hiding what
 *   lower layers had in it, and all of its current content.
 *
 * Entries come sorted in tree order; the layer writer gives them the flavor's one mtime, so the
 * same changes give the same layer bytes. Sockets, FIFOs and devices are not archived (listed
 * in `skipped`).
 */
import { lstatSync, readdirSync, readlinkSync } from "node:fs";
import { posix } from "node:path";
import { comparePaths } from "../../src/context/walk.ts";
import type { LayerEntry } from "../../src/image/layer.ts";

export interface PathStat {
  type: "file" | "dir" | "symlink" | "other";
  mode: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  nlink: number;
  uid: number;
  gid: number;
  linkTarget?: string;
}

/** Relative paths (no leading `/`; the root itself is not in it) -> metadata. */
export type Snapshot = Map<string, PathStat>;

export interface SnapshotDiff {
  entries: LayerEntry[];
  /** Paths of sockets, FIFOs and devices the step left, which a layer does not carry. */
  skipped: string[];
}

/** Record the tree below `root`; `exclude` leaves out paths (and what is below them), e.g. mount points. */
export function takeSnapshot(root: string, exclude: (path: string) => boolean = () => false): Snapshot {
  const out: Snapshot = new Map();
  const walk = (rel: string) => {
    for (const name of readdirSync(rel === "" ? root : `${root}/${rel}`)) {
      const path = rel === "" ? name : `${rel}/${name}`;
      if (exclude(path)) continue;
      const st = statPath(`${root}/${path}`);
      out.set(path, st);
      if (st.type === "dir") walk(path);
    }
  };
  walk("");
  return out;
}

function statPath(abs: string): PathStat {
  const s = lstatSync(abs, { bigint: true });
  const type = s.isFile() ? "file" : s.isDirectory() ? "dir" : s.isSymbolicLink() ? "symlink" : "other";
  const st: PathStat = {
    type,
    mode: Number(s.mode & 0o7777n),
    size: type === "file" ? Number(s.size) : 0,
    mtimeNs: s.mtimeNs,
    ctimeNs: s.ctimeNs,
    ino: s.ino,
    nlink: Number(s.nlink),
    uid: Number(s.uid),
    gid: Number(s.gid),
  };
  if (type === "symlink") st.linkTarget = readlinkSync(abs);
  return st;
}

function changed(a: PathStat, b: PathStat): boolean {
  return a.type !== b.type || a.mode !== b.mode || a.size !== b.size || a.mtimeNs !== b.mtimeNs || a.ctimeNs !== b.ctimeNs || a.ino !== b.ino || a.uid !== b.uid || a.gid !== b.gid || a.linkTarget !== b.linkTarget;
}

const parentOf = (path: string) => {
  const d = posix.dirname(path);
  return d === "." ? "" : d;
};

/** The layer entries that turn `before` into `after` (both snapshots of `root`, whose files the entries read). */
export function diffSnapshots(root: string, before: Snapshot, after: Snapshot): SnapshotDiff {
  const include = new Set<string>();
  const opaque = new Set<string>();
  const skipped: string[] = [];
  // Directories replaced by another directory: their old content is hidden as a whole.
  for (const [path, st] of after) {
    const old = before.get(path);
    if (st.type === "dir" && old?.type === "dir" && old.ino !== st.ino) opaque.add(path);
  }
  const underOpaque = (path: string) => {
    for (let p = parentOf(path); p !== ""; p = parentOf(p)) if (opaque.has(p)) return true;
    return false;
  };
  for (const [path, st] of after) {
    const old = before.get(path);
    if (old && !changed(old, st) && !underOpaque(path)) continue;
    if (st.type === "other") skipped.push(path);
    else include.add(path);
  }
  const whiteouts: string[] = [];
  for (const path of before.keys()) {
    if (after.has(path)) continue;
    const parent = parentOf(path);
    if (parent !== "") {
      const now = after.get(parent);
      // The parent went too (its whiteout covers this), became a non-directory (its entry
      // replaces the old tree), or was replaced (the opaque marker hides it).
      if (!now || now.type !== "dir" || !before.has(parent) || before.get(parent)!.type !== "dir" || opaque.has(parent) || underOpaque(path)) continue;
    }
    whiteouts.push(parent === "" ? `.wh.${posix.basename(path)}` : `${parent}/.wh.${posix.basename(path)}`);
  }
  const markers = [...opaque].map((d) => `${d}/.wh..wh..opq`);
  // Parents of everything written, so the layer extracts with the directories' own modes and owners.
  for (const path of [...include, ...whiteouts, ...markers]) {
    for (let p = parentOf(path); p !== "" && !include.has(p); p = parentOf(p)) if (after.get(p)?.type === "dir") include.add(p);
  }
  const entries: LayerEntry[] = [];
  const firstOfInode = new Map<bigint, string>();
  for (const path of [...include].sort(comparePaths)) {
    const st = after.get(path)!;
    const owner = { uid: st.uid, gid: st.gid };
    if (st.type === "dir") entries.push({ path, type: "dir", mode: st.mode, size: 0, ...owner });
    else if (st.type === "symlink") entries.push({ path, type: "symlink", mode: 0o777, size: 0, linkTarget: st.linkTarget ?? "", ...owner });
    else {
      const first = st.nlink > 1 ? firstOfInode.get(st.ino) : undefined;
      if (first !== undefined) entries.push({ path, type: "hardlink", mode: st.mode, size: 0, linkTarget: first, ...owner });
      else {
        if (st.nlink > 1) firstOfInode.set(st.ino, path);
        entries.push({ path, type: "file", mode: st.mode, size: st.size, source: `${root}/${path}`, ...owner });
      }
    }
  }
  for (const path of [...whiteouts, ...markers]) entries.push({ path, type: "file", mode: 0, size: 0, data: new Uint8Array(0) });
  entries.sort((a, b) => comparePaths(a.path, b.path));
  return { entries, skipped };
}
