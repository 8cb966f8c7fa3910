/**
 * Pour an archive into the kinds of sink `BuildContext.writeArchive` accepts, with
 * backpressure: the next chunk is produced only once the previous one was accepted.
 *
 * Files and descriptors take the fast path: chunks from one reused buffer written with
 * blocking writes (no stream machinery, no per-chunk allocation). Streams, Bun FileSinks and
 * Node writables get a ReadableStream.
 */
import { closeSync, constants, fstatSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import type { FileSink } from "bun";
import { CancelledError, RuntimeError } from "../errors.ts";
import type { ArchiveSink } from "./build_context.ts";
import { widenPipe } from "./_pipe_size.ts";
import type { TarWriter } from "./tar.ts";
import { errnoReason, ioError } from "./walk.ts";

export async function sinkWrite(stream: ReadableStream<Uint8Array>, sink: Exclude<ArchiveSink, string | number>, signal?: AbortSignal): Promise<void> {
  if (sink instanceof WritableStream) return stream.pipeTo(sink, signal ? { signal } : {});
  if (isNodeWritable(sink)) return writeNode(stream, sink);
  return writeFileSink(stream, sink);
}

function isNodeWritable(sink: unknown): sink is NodeJS.WritableStream {
  return typeof (sink as NodeJS.WritableStream).on === "function" && typeof (sink as NodeJS.WritableStream).once === "function";
}

/**
 * A regular file is written next to its final name and renamed into place, so a failed run
 * never leaves a truncated archive that looks complete. Anything else (/dev/null, a FIFO) is
 * written in place.
 *
 * An existing archive is removed once the temp file is open, before writing, as `tar -cf`
 * truncates it on open; never renamed over (issue #18, measured on ext4): renaming over an
 * existing file makes ext4 (auto_da_alloc, "replace via rename") start writeback of the whole
 * new file inside rename(2), seconds for a big context when the disk is busy; and writing a
 * 1 GB archive while the old 1 GB one still existed took 2.0-2.5 s against 0.4-0.5 s with it
 * gone (most of it system time in write(2)). So a failed run leaves no archive at all, never
 * a stale or partial one under the final name.
 */
export async function writePath(path: string, fill: (fd: number, created?: string) => Promise<void>): Promise<void> {
  let special = false;
  try {
    special = !statSync(path).isFile();
  } catch {
    // does not exist yet: a new regular file
  }
  const target = special ? path : `${path}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(target, "w", 0o644);
  } catch (e) {
    throw ioError("write", path, e);
  }
  if (!special) unlinkQuiet(path);
  try {
    // `created`: a new, empty regular file of our own (written from offset 0, no O_APPEND).
    await fill(fd, special ? undefined : target);
    closeSync(fd);
    if (!special) renameSync(target, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    if (!special) unlinkSync(target);
    throw e;
  }
}

/** Remove an old archive; a missing one is fine, anything else surfaces as the rename's error. */
function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // ENOENT (the usual case: a new file); other errors reappear on rename
  }
}

/**
 * Run `fill` with a blocking descriptor for `fd`. Bun makes stdout non-blocking, and a
 * non-blocking pipe answers EAGAIN as soon as its 64 KiB buffer is full, which turns a fast
 * copy into polling. Reopening a FIFO through /proc/self/fd gives a new, blocking open file
 * description of the same pipe (Linux); anything else (files, sockets) is used as is.
 */
export async function withBlockingFd(fd: number, fill: (fd: number) => Promise<void>): Promise<void> {
  let own: number | undefined;
  try {
    if (fstatSync(fd).isFIFO()) own = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY);
  } catch {
    // no /proc, or not reopenable: fall back to the descriptor itself
  }
  try {
    await fill(own ?? fd);
  } finally {
    if (own !== undefined) closeSync(own);
  }
}

/** Write all of `chunk` to a descriptor; a non-blocking one (EAGAIN) is waited on. */
export async function writeAll(fd: number, chunk: Uint8Array, label: string): Promise<void> {
  for (let off = 0; off < chunk.length; ) {
    try {
      off += writeSync(fd, chunk, off, chunk.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") {
        await Bun.sleep(1);
        continue;
      }
      throw writeError(label, e);
    }
  }
}

/** "Cannot write the archive to <label>: <errno reason>" (also for _split.ts's positioned writes). */
export function writeError(label: string, e: unknown): RuntimeError {
  // A descriptor's label ("stdout") is not a path to resolve.
  if (label === "stdout" || label.startsWith("file descriptor ")) return new RuntimeError("context.io", `Cannot write the archive to ${label}: ${errnoReason(e)}`, { cause: e });
  return ioError("write the archive to", label, e);
}

/**
 * The fast path: TarWriter chunks (one reused buffer) straight to a descriptor, blocking writes.
 * Tried and measured (issue #18, one bench run): writing each chunk on Bun's I/O pool while the
 * next was filled (TarWriter `buffers: 2`, fs.write callbacks) gained nothing measurable on 40,000 small
 * files (0.72 s against 0.76 s) and cost 4 x 256 MiB 0.89 s against 0.58 s (twice the CPU).
 */
export async function writeTarToFd(fd: number, label: string, writer: TarWriter, signal?: AbortSignal): Promise<void> {
  try {
    for (let i = 1, c = writer.next(); c; c = writer.next(), i++) {
      await writeAll(fd, c, label);
      // Blocking writes starve the event loop; let signal handlers run every 8 chunks.
      if (i % 8 === 0) await new Promise((r) => setImmediate(r));
      if (signal?.aborted) throw new CancelledError("Writing the build context was cancelled");
    }
  } finally {
    writer.close();
  }
}

/**
 * Chunks the pipe writer keeps (TarWriter `buffers`): one being written, the rest made while the
 * reader drains the pipe. 4 x 256 KiB.
 */
export const PIPE_BUFFERS = 4;

/**
 * TarWriter chunks into a pipe (issue #18): the reader and imgb take turns unless imgb makes
 * the next chunks while the reader drains the pipe. A blocking write of a 256 KiB chunk into a
 * 64 KiB pipe returns only once the reader took all but the last 64 KiB, and meanwhile imgb
 * makes nothing: measured, `imgb context -o - | cat` took ~2x `tar -cf - | cat` (GNU tar writes
 * 10 KiB records, which fit). So each chunk goes first to a non-blocking description of the same
 * pipe: what fits is written at once, and the rest waits while the next chunks are made (up to
 * PIPE_BUFFERS - 1 unwritten); only then does a blocking write wait for the reader. The archive's
 * bytes and their order are the same. `fd` must be blocking (see withBlockingFd). The pipe is
 * first grown to 1 MiB where the kernel allows (_pipe_size.ts): fewer turns still.
 *
 * Tried and not kept (issue #18, 40,000 small files, `-o - | cat`, 5 interleaved runs): the
 * archive made by two threads in order (the worker making parts into 4-8 shared 1 MiB buffers,
 * the main thread walking, sending, and making the parts the worker did not take), with this
 * writer or blocking writes: 0.82-0.96 s against 0.75 s for one thread, +0.17-0.2 s of CPU.
 * With `cat` on the other end three busy threads share the two cores, and the copy into the
 * shared buffers is one more. Files take the two-thread path (_split.ts): no copy, no reader.
 */
export async function writeTarToPipe(fd: number, label: string, writer: TarWriter, signal?: AbortSignal): Promise<void> {
  widenPipe(fd);
  let nonBlocking: number | undefined;
  try {
    nonBlocking = openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    // no /proc: plain blocking writes
  }
  if (nonBlocking === undefined) return writeTarToFd(fd, label, writer, signal);
  const queue: Uint8Array[] = [];
  let offset = 0; // written bytes of queue[0]
  let ended = false;
  try {
    for (let made = 0; ; ) {
      // What the pipe takes now, without waiting.
      while (queue.length > 0) {
        const head = queue[0]!;
        let n: number;
        try {
          n = writeSync(nonBlocking, head, offset, head.length - offset);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "EAGAIN") break;
          throw writeError(label, e);
        }
        offset += n;
        if (offset < head.length) break;
        queue.shift();
        offset = 0;
      }
      if (!ended && queue.length < PIPE_BUFFERS - 1) {
        const c = writer.next();
        if (c) {
          queue.push(c);
          // Blocking writes starve the event loop; let signal handlers run every 8 chunks.
          if (++made % 8 === 0) await new Promise((r) => setImmediate(r));
          if (signal?.aborted) throw new CancelledError("Writing the build context was cancelled");
        } else ended = true;
        continue;
      }
      if (queue.length === 0) break; // ended, all written
      // As many chunks made as may be kept: wait for the reader to take the oldest.
      await writeAll(fd, offset === 0 ? queue[0]! : queue[0]!.subarray(offset), label);
      queue.shift();
      offset = 0;
    }
  } finally {
    closeSync(nonBlocking);
    writer.close();
  }
}

export async function writeStreamToFd(fd: number, label: string, stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const chunk of stream) await writeAll(fd, chunk, label);
}

async function writeFileSink(stream: ReadableStream<Uint8Array>, sink: FileSink): Promise<void> {
  for await (const chunk of stream) {
    await sink.write(chunk); // a promise when the pipe is full: awaited, so its error lands here
    await sink.flush(); // resolves once the pipe took the data: this is the backpressure
  }
  await sink.end();
}

async function writeNode(stream: ReadableStream<Uint8Array>, sink: NodeJS.WritableStream): Promise<void> {
  const waitDrain = () =>
    new Promise<void>((resolve, reject) => {
      const onError = (e: unknown) => {
        sink.off("drain", onDrain);
        reject(e);
      };
      const onDrain = () => {
        sink.off("error", onError);
        resolve();
      };
      sink.once("drain", onDrain);
      sink.once("error", onError);
    });
  for await (const chunk of stream) if (!sink.write(chunk)) await waitDrain();
  if (sink !== process.stdout && sink !== process.stderr) await new Promise<void>((resolve) => sink.end(resolve));
}
