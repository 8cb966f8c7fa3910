/**
 * An archive written into a new regular file by two threads at once (issue #18).
 *
 * A tar archive's layout is known from its entries alone: every entry takes its PAX record (if
 * any), one header and its content padded to 512 bytes (`recordBytes`), at the offset the
 * entries before it end. So the entries are cut into parts (PART_ENTRIES entries or PART_BYTES
 * of archive, whichever comes first) as they are read (walked, for a one-shot write), and each
 * part is written by whichever thread takes it first, with positioned writes (pwrite) at its
 * offset: the main thread, which also walks, and one worker thread. The bytes are those of
 * TarWriter's one stream, each part a `fragment` of it; the end-of-archive blocks are the zeros
 * the file is truncated to at the end.
 *
 * Measured (40,000 files of 100 B..12 KiB, the binary, bench-context.ts --runs 5): `-o FILE`
 * 0.62 s against 0.92 s with one thread, GNU tar 0.71 s; 4 x 256 MiB 0.63 s against 1.60 s
 * (tar 1.21 s). Opening, reading and writing the files is ~450 ms of a one-thread write's
 * ~600, the walk ~150. Peak RSS +10-13 MB: the worker is a JavaScript VM of its own.
 * One TarWriter per thread (`restart`), not one per part: a 256 KiB buffer per part cost
 * ~170 ms of CPU and 30 MB of RSS. How parts are shared, and failures: _parts.ts. The worker
 * writes through its own descriptor of the file (opened by path).
 *
 * Only for an empty regular file written from offset 0, not O_APPEND, not a pipe: writePath's
 * new file, or stdout redirected to an empty file (build_context.ts `emptyAtStart`, which then
 * moves the offset to the end).
 */
import { closeSync, constants, ftruncateSync, openSync, writeSync } from "node:fs";
import { adoptNativeTar, nativeTar } from "./_native.ts";
import { writeError } from "./_sink.ts";
import { PART_BYTES, PART_ENTRIES, Parts, type Part, type PartOptions, type Task } from "./_parts.ts";
import { leadBlock, recordBytes, TarWriter, type EntrySource, type TarEntry } from "./tar.ts";
import { stayBelowFTL } from "./_tiers.ts";

export interface SplitOptions extends PartOptions {
  /** mtime of every entry, in seconds since the epoch. */
  mtime: number;
  /** Directory relative `source` paths were made against. */
  cwd: string;
  /** Cut parts of at most this many entries (tests). */
  partEntries?: number;
  /** Use the native loop where it loads (default true; tests compare both). */
  native?: boolean;
}

/**
 * Write the archive of `entries` into `fd`, a new regular file at `path` (opened for writing,
 * empty). `label` names it in errors.
 */
export async function writeTarSplit(fd: number, path: string, label: string, entries: EntrySource<TarEntry>, options: SplitOptions): Promise<void> {
  const partEntries = options.partEntries ?? PART_ENTRIES;
  const write = partWriter(options.mtime, options.cwd, options.native);
  // The native loop is compiled when the worker starts (a context that big pays it back; this
  // thread's writer then uses it too), and the worker calls it by address (_native.ts).
  const task = (): Task => {
    const native = options.native === false ? undefined : nativeTar()?.address;
    return { kind: "tar", path, label, mtime: options.mtime, cwd: options.cwd, ...(native !== undefined ? { native } : {}) };
  };
  const parts = new Parts(task, (part) => write(fd, label, part), options);
  try {
    const lead = leadBlock(entries.at(0), options.mtime);
    if (lead) pwriteAll(fd, label, lead, 0);
    let offset = lead?.length ?? 0;
    let cut: TarEntry[] = [];
    let cutOffset = offset;
    for (let i = 0; !parts.failed; i++) {
      const e = entries.at(i);
      if (e === undefined) break;
      cut.push(e);
      offset += recordBytes(e);
      if (cut.length >= partEntries || offset - cutOffset >= PART_BYTES) {
        await parts.add(cut, cutOffset, offset - cutOffset, offset);
        cut = [];
        cutOffset = offset;
      }
    }
    if (cut.length > 0 && !parts.failed) await parts.add(cut, cutOffset, offset - cutOffset, offset);
    await parts.finish(label);
    // The two zero blocks that end the archive: the file is zero where it was never written.
    try {
      ftruncateSync(fd, offset + 1024);
    } catch (e) {
      throw writeError(label, e);
    }
    const line = options.onDebug && (await parts.debugLine("written"));
    if (line) options.onDebug!(line);
  } finally {
    await parts.stop();
  }
}

/** The worker's part function for a "tar" task: through its own descriptor of the file, opened when it takes its first part. */
export function tarPartWorker(task: Extract<Task, { kind: "tar" }>): { run: (part: Part) => void; close: () => void } {
  adoptNativeTar(task.native);
  const write = partWriter(task.mtime, task.cwd);
  let fd = -1;
  return {
    run(part) {
      if (fd < 0) fd = openSync(task.path, constants.O_WRONLY);
      write(fd, task.label, part);
    },
    close() {
      if (fd >= 0) closeSync(fd);
      fd = -1;
    },
  };
}

function pwriteAll(fd: number, label: string, chunk: Uint8Array, at: number): void {
  for (let done = 0; done < chunk.length; ) {
    try {
      done += writeSync(fd, chunk, done, chunk.length - done, at + done);
    } catch (e) {
      throw writeError(label, e);
    }
  }
}

/** A thread's writer of parts: one buffer and one garbage count for all of them (TarWriter `restart`). */
function partWriter(mtime: number, cwd: string, native = true): (fd: number, label: string, part: Part) => void {
  const writer = new TarWriter([], { mtime, cwd, reuseBuffer: true, fragment: true, native });
  return (fd, label, part) => writePart(writer, fd, label, part);
}

/** One part's records at its offset; throws what TarWriter throws (a changed file, a read error). */
function writePart(writer: TarWriter, fd: number, label: string, part: Part): void {
  writer.restart(part.entries);
  let at = part.offset;
  try {
    for (let c = writer.next(); c; c = writer.next()) {
      pwriteAll(fd, label, c, at);
      at += c.length;
    }
  } finally {
    writer.close();
  }
  // recordBytes and TarWriter agree by construction; a disagreement would be a corrupt archive.
  if (at - part.offset !== part.bytes) throw new Error(`internal: part ${part.k} took ${at - part.offset} bytes, ${part.bytes} were planned`);
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(pwriteAll, partWriter, writePart);
