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
 *
 * Two threads copy (_parts.ts): the entries are cut into parts of files and symlinks, each
 * copied by whichever thread takes it first, the main thread or the worker. The main thread
 * makes every directory as it cuts (in order: before any part with an entry below it is
 * posted), and makes the hard links once every part is copied (their first path is then
 * there), then the directory modes and times.
 */
import {
  closeSync, constants, fchmodSync, fstatSync, futimesSync, linkSync, lutimesSync, mkdirSync, openSync, readSync, symlinkSync, writeSync,
} from "node:fs";
import { resolve } from "node:path";
import { RuntimeError } from "../errors.ts";
import { GarbageBound } from "./_heap.ts";
import { PART_BYTES, PART_ENTRIES, Parts, type Part, type PartOptions, type Task } from "./_parts.ts";
import { IO_CHUNK, type EntrySource, type TarEntry } from "./tar.ts";
import { ioError } from "./walk.ts";
import { stayBelowFTL } from "./_tiers.ts";

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = constants;
const CHUNK = IO_CHUNK;
/** What a part counts per entry besides its content: a file's creation costs as much as copying a few KiB. */
const ENTRY_BYTES = 4096;

export interface MaterializeOptions extends PartOptions {
  /** mtime of every entry, in seconds since the epoch. */
  mtime: number;
  /** Directory relative `source` paths were made against. */
  cwd: string;
  /** Cut parts of at most this many entries (tests). */
  partEntries?: number;
}

/** Write `entries` (in archive order) below `dest`, an existing empty directory. */
export async function materialize(entries: EntrySource<TarEntry>, dest: string, options: MaterializeOptions): Promise<void> {
  const { mtime, cwd } = options;
  const partEntries = options.partEntries ?? PART_ENTRIES;
  const umask = process.umask(); // read here: the worker is given it
  const copy = partCopier(dest, mtime, cwd, umask);
  const parts = new Parts({ kind: "dir", dest, mtime, cwd, umask }, copy, options);
  const dirs: { path: string; mode: number }[] = [];
  const links: { path: string; first: string }[] = [];
  try {
    let cut: TarEntry[] = [];
    let bytes = 0;
    let total = 0;
    for (let i = 0; !parts.failed; i++) {
      const e = entries.at(i);
      if (e === undefined) break;
      if (e.type === "dir") {
        const target = `${dest}/${e.path}`;
        try {
          mkdirSync(target); // parents come first in archive order; never recursive through a link
        } catch (err) {
          // The entries before it are copied first: one of their errors would come first.
          if (cut.length > 0) await parts.add(cut, 0, bytes, total);
          cut = [];
          parts.failAfter(ioError("write", target, err));
          break;
        }
        dirs.push({ path: e.path, mode: e.mode });
        continue;
      }
      if (e.type === "hardlink") {
        links.push({ path: e.path, first: e.linkTarget ?? "" });
        continue;
      }
      cut.push(e);
      const size = ENTRY_BYTES + (e.type === "file" ? e.size : 0);
      bytes += size;
      total += size;
      if (cut.length >= partEntries || bytes >= PART_BYTES) {
        await parts.add(cut, 0, bytes, total);
        cut = [];
        bytes = 0;
      }
    }
    if (cut.length > 0 && !parts.failed) await parts.add(cut, 0, bytes, total);
    await parts.finish(dest);
    const line = options.onDebug && (await parts.debugLine("copied"));
    if (line) options.onDebug!(line);
  } finally {
    await parts.stop();
  }
  for (const l of links) {
    const target = `${dest}/${l.path}`;
    try {
      linkSync(`${dest}/${l.first}`, target); // link(2) does not follow a symlink
    } catch (err) {
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

/** The worker's part function for a "dir" task. */
export function copyPartWorker(task: Extract<Task, { kind: "dir" }>): { run: (part: Part) => void; close: () => void } {
  return { run: partCopier(task.dest, task.mtime, task.cwd, task.umask), close: () => {} };
}

/** A thread's copier of parts (files and symlinks): one buffer and one garbage count for all of them. */
function partCopier(dest: string, mtime: number, cwd: string, umask: number): (part: Part) => void {
  const buf = new Uint8Array(CHUNK);
  const gc = new GarbageBound(); // a dead Stats object per file (see _heap.ts)
  return (part) => {
    for (const e of part.entries) {
      gc.tick();
      const target = `${dest}/${e.path}`;
      try {
        if (e.type === "file") writeFile(e, target, mtime, buf, cwd, umask);
        else if (e.type === "symlink") {
          symlinkSync(e.linkTarget ?? "", target);
          lutimesSync(target, mtime, mtime);
        } else throw new Error(`internal: a ${e.type} in a part to copy`);
      } catch (err) {
        if (err instanceof RuntimeError) throw err;
        throw ioError("write", target, err);
      }
    }
  };
}

function writeFile(e: TarEntry, target: string, mtime: number, buf: Uint8Array, cwd: string, umask: number): void {
  // Created with its mode where the umask leaves it whole (the usual 0644 and 0755 under 022):
  // one fchmod a file fewer. Else created private and set after.
  const exact = e.mode <= 0o777 && (e.mode & umask) === 0;
  const out = openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, exact ? e.mode : 0o600);
  try {
    if (e.source) copyVerified(e, resolve(cwd, e.source), out, buf);
    else if (e.data) writeAll(out, e.data);
    if (!exact) fchmodSync(out, e.mode);
    futimesSync(out, mtime, mtime);
  } finally {
    closeSync(out);
  }
}

/** Copy the walked file; fail with `context.changed` when it is not the file the checksum read. */
function copyVerified(e: TarEntry, source: string, out: number, buf: Uint8Array): void {
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
      // One byte more than expected, when it fits: a short read at the expected size is the
      // end (as in TarWriter), sparing a read a file; a full one means the file grew.
      const want = Math.min(CHUNK, e.size - copied + 1);
      let n: number;
      try {
        n = readSync(fd, buf, 0, want, null);
      } catch (err) {
        throw ioError("read", source, err);
      }
      if (n === 0) break;
      writeAll(out, buf.subarray(0, n));
      copied += n;
      if (copied > e.size || (n < want && copied === e.size)) break;
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

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(partCopier, writeFile, copyVerified, writeAll);
