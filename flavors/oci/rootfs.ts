/**
 * A stage's root filesystem on disk, for RUN: its gzip layers (base layers from the registry,
 * then the layers this build made) extracted in order into a private directory, whiteouts
 * applied as the layers are read (`.wh.name` deletes a lower path, `.wh..wh..opq` hides what
 * lower layers had in a directory). Owners, modes (setuid bits included) and link targets are
 * kept; device nodes and FIFOs are skipped (RUN gets its own /dev).
 *
 * Paths are resolved inside the root as a chroot would (`resolveInRoot`): a layer's symlink
 * `etc -> /` followed by `etc/passwd` writes the root's own /etc/passwd, never the host's.
 */
import { chmodSync, closeSync, lchownSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeSync } from "node:fs";
import { posix } from "node:path";
import { RuntimeError, writeError } from "../../src/errors.ts";
import type { TarHeader } from "../../src/image/tar_reader.ts";
import { normalize, readLayerBlob } from "./layer_entries.ts";

const MAX_SYMLINKS = 40;

/**
 * `path` (relative to `root`) with every symlink among its parents resolved inside `root`
 * (absolute targets start at `root`, `..` stops at it). The last component is not followed
 * unless `followLast`. Returns the relative resolved path ("" is the root itself).
 */
export function resolveInRoot(root: string, path: string, followLast = false): string {
  const pending = normalize(path).split("/").filter(Boolean);
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop();
      continue;
    }
    if (part === ".") continue;
    const candidate = [...done, part];
    if (pending.length === 0 && !followLast) return candidate.join("/");
    let target: string | undefined;
    try {
      if (lstatSync(`${root}/${candidate.join("/")}`).isSymbolicLink()) target = readlinkSync(`${root}/${candidate.join("/")}`);
    } catch {
      // missing: taken as a plain name (it is about to be created)
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++hops > MAX_SYMLINKS) throw new RuntimeError("oci.rootfs-symlinks", `Too many levels of symbolic links at /${candidate.join("/")} in the stage's file system`);
    if (target.startsWith("/")) done.length = 0;
    pending.unshift(...target.split("/").filter(Boolean));
  }
  return done.join("/");
}

/** The absolute host path of `path` in the root, parents resolved inside it. */
function hostPath(root: string, path: string): string {
  const rel = resolveInRoot(root, path);
  return rel === "" ? root : `${root}/${rel}`;
}

/** Make the parent directories of `rel` (already resolved) that are missing, as an extractor does. */
function ensureParents(root: string, rel: string): void {
  const parent = posix.dirname(rel);
  if (parent === "." || parent === "") return;
  mkdirSync(`${root}/${parent}`, { recursive: true, mode: 0o755 });
}

function removePath(abs: string): void {
  rmSync(abs, { recursive: true, force: true });
}

function isDir(abs: string): boolean {
  try {
    return lstatSync(abs).isDirectory();
  } catch {
    return false;
  }
}

/** Apply one gzip layer blob (a file) to the root filesystem at `root`. */
export async function extractLayer(root: string, blob: string): Promise<void> {
  const added = new Set<string>();
  const opaque: string[] = [];
  await readLayerBlob(blob, {
    opaque: (dir) => void opaque.push(resolveInRoot(root, dir, true)),
    whiteout: (path) => removePath(hostPath(root, path)),
    entry: (path, h) => {
      const rel = resolveInRoot(root, path);
      const abs = `${root}/${rel}`;
      added.add(rel);
      ensureParents(root, rel);
      try {
        return writeEntry(root, abs, h);
      } catch (e) {
        throw writeError(e, "the stage's file system (for RUN)", abs);
      }
    },
  });
  // Opaque directories hide what lower layers had below them, not what this layer added.
  for (const dir of opaque) clearExcept(root, dir, added);
}

function writeEntry(root: string, abs: string, h: TarHeader): ((chunk: Uint8Array) => void) | undefined {
  const mode = h.mode & 0o7777;
  switch (h.type) {
    case "5":
      if (!isDir(abs)) {
        removePath(abs);
        mkdirSync(abs, { mode: 0o755 });
      }
      lchownSync(abs, h.uid, h.gid);
      chmodSync(abs, mode);
      return undefined;
    case "2":
      removePath(abs);
      symlinkSync(h.linkTarget, abs);
      lchownSync(abs, h.uid, h.gid);
      return undefined;
    case "1": {
      removePath(abs);
      linkSync(hostPath(root, h.linkTarget), abs);
      return undefined;
    }
    case "0":
    case "7":
    case "\0":
      break;
    default:
      return undefined; // devices, FIFOs: RUN gets its own /dev
  }
  removePath(abs);
  const fd = openSync(abs, "w", 0o600);
  let open = true;
  const finish = () => {
    open = false;
    closeSync(fd);
    lchownSync(abs, h.uid, h.gid);
    chmodSync(abs, mode); // after chown, which clears setuid bits
  };
  let left = h.size;
  if (left === 0) {
    finish();
    return undefined;
  }
  return (chunk) => {
    try {
      writeSync(fd, chunk);
      left -= chunk.length;
      if (left === 0) finish();
    } catch (e) {
      if (open) closeSync(fd);
      throw writeError(e, "the stage's file system (for RUN)", abs);
    }
  };
}

/** Remove everything below `dir` (relative) that this layer did not add. */
function clearExcept(root: string, dir: string, added: ReadonlySet<string>): void {
  const keep = new Set<string>();
  for (const a of added) for (let p = a; p !== "." && p !== "" && !keep.has(p); p = posix.dirname(p)) keep.add(p);
  const walk = (rel: string) => {
    const abs = rel === "" ? root : `${root}/${rel}`;
    if (!isDir(abs)) return;
    for (const name of readdirSync(abs)) {
      const child = rel === "" ? name : `${rel}/${name}`;
      if (!keep.has(child)) removePath(`${root}/${child}`);
      else walk(child);
    }
  };
  walk(dir);
}
