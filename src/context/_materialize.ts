/**
 * Write context entries as a directory tree: files copied (inline content written), symlinks
 * recreated, hard links linked to their first path, same modes, every mtime = `mtime`.
 * Directory modes and times are set last, deepest first, so a read-only directory can still be
 * filled and its mtime is not bumped by its children.
 *
 * Nothing is ever written through a symlink: the context's own symlinks are recreated in the
 * destination, so a later entry whose path went through one (`s -> /outside`, then
 * `s/Dockerfile`) would land outside it. Entries never are below a link (BuildContext refuses
 * that), and on top every write opens its target with O_NOFOLLOW and O_EXCL, directories are
 * made one level at a time (mkdir fails on an existing link), and modes and times are set on
 * descriptors. Sources are opened with O_NOFOLLOW too and must still be the file that was
 * walked (inode, size, mtime, ctime) once copied, as for the tar stream.
 */
import {
  closeSync, constants, fchmodSync, fstatSync, futimesSync, linkSync, lutimesSync, mkdirSync, openSync, readSync, symlinkSync, writeSync,
} from "node:fs";
import { resolve } from "node:path";
import { RuntimeError } from "../errors.ts";
import { GarbageBound } from "./_heap.ts";
import type { ContextEntry } from "./build_context.ts";
import { IO_CHUNK, type TarEntry } from "./tar.ts";
import { ioError } from "./walk.ts";

type Entry = ContextEntry & Pick<TarEntry, "ino" | "mtimeMs" | "ctimeMs"> & { data?: Uint8Array };

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = constants;
const CHUNK = IO_CHUNK;

export function materialize(entries: readonly Entry[], dest: string, mtime: number): void {
  const dirs: ContextEntry[] = [];
  const buf = new Uint8Array(CHUNK);
  const gc = new GarbageBound(); // a dead Stats object per file (see _heap.ts)
  for (const e of entries) {
    gc.tick();
    const target = `${dest}/${e.path}`;
    try {
      switch (e.type) {
        case "dir":
          mkdirSync(target); // parents come first in archive order; never recursive through a link
          dirs.push(e);
          continue;
        case "file":
          writeFile(e, target, mtime, buf);
          continue;
        case "symlink":
          symlinkSync(e.linkTarget ?? "", target);
          lutimesSync(target, mtime, mtime);
          continue;
        case "hardlink":
          linkSync(`${dest}/${e.linkTarget}`, target); // link(2) does not follow a symlink
          continue;
      }
    } catch (err) {
      if (err instanceof RuntimeError) throw err;
      throw ioError("write", target, err);
    }
  }
  for (const d of dirs.reverse()) {
    const target = `${dest}/${d.path}`;
    let fd: number;
    try {
      fd = openSync(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      throw ioError("write", target, err);
    }
    try {
      fchmodSync(fd, d.mode);
      futimesSync(fd, mtime, mtime);
    } finally {
      closeSync(fd);
    }
  }
}

function writeFile(e: Entry, target: string, mtime: number, buf: Uint8Array): void {
  const out = openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    if (e.source) copyVerified(e, out, buf);
    else if (e.data) writeAll(out, e.data);
    fchmodSync(out, e.mode);
    futimesSync(out, mtime, mtime);
  } finally {
    closeSync(out);
  }
}

/** Copy the walked file; fail with `context.changed` when it is not the file the checksum read. */
function copyVerified(e: Entry, out: number, buf: Uint8Array): void {
  const source = resolve(e.source!);
  let fd: number;
  try {
    fd = openSync(source, O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ELOOP") throw changed(source, code === "ENOENT" ? "vanished" : "was replaced by a symlink");
    throw ioError("read", source, err);
  }
  try {
    let copied = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, CHUNK, null);
      } catch (err) {
        throw ioError("read", source, err);
      }
      if (n === 0) break;
      writeAll(out, buf.subarray(0, n));
      copied += n;
    }
    const st = fstatSync(fd);
    if (copied !== e.size || st.size !== e.size) throw changed(source, `${copied > e.size ? "grew" : copied < e.size ? "shrank" : "changed"} from ${e.size} bytes`);
    if (e.ctimeMs !== undefined && (st.ctimeMs !== e.ctimeMs || st.mtimeMs !== e.mtimeMs || (e.ino !== undefined && st.ino !== e.ino))) {
      throw changed(source, "was rewritten or replaced after it was checksummed");
    }
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, data: Uint8Array): void {
  for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
}

function changed(path: string, how: string): RuntimeError {
  return new RuntimeError("context.changed", `File "${path}" changed while the build context was being written: it ${how}`, {
    hint: "Stop processes writing into the build context, or ignore the file in .dockerignore",
  });
}
