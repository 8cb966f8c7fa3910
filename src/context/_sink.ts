/**
 * Pour an archive stream into the kinds of sink `BuildContext.writeArchive` accepts, with
 * backpressure: the next chunk is pulled only once the previous one was accepted.
 */
import { closeSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import type { FileSink } from "bun";
import type { ArchiveSink } from "./build_context.ts";
import { ioError } from "./walk.ts";

export async function sinkWrite(makeStream: () => ReadableStream<Uint8Array>, sink: ArchiveSink, signal?: AbortSignal): Promise<void> {
  if (typeof sink === "string") return writePath(makeStream(), sink);
  if (sink instanceof WritableStream) return makeStream().pipeTo(sink, signal ? { signal } : {});
  if (isNodeWritable(sink)) return writeNode(makeStream(), sink);
  return writeFileSink(makeStream(), sink);
}

function isNodeWritable(sink: unknown): sink is NodeJS.WritableStream {
  return typeof (sink as NodeJS.WritableStream).on === "function" && typeof (sink as NodeJS.WritableStream).once === "function";
}

/**
 * A regular file is written next to its final name and renamed into place, so a failed run
 * never leaves a truncated archive that looks complete. Anything else (/dev/null, a FIFO) is
 * written in place.
 */
async function writePath(stream: ReadableStream<Uint8Array>, path: string): Promise<void> {
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
  try {
    for await (const chunk of stream) {
      for (let off = 0; off < chunk.length; ) off += writeSync(fd, chunk, off, chunk.length - off);
    }
    closeSync(fd);
    if (!special) renameSync(target, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    if (!special) unlinkSync(target);
    throw (e as { code?: string }).code ? ioError("write", path, e) : e;
  }
}

async function writeFileSink(stream: ReadableStream<Uint8Array>, sink: FileSink): Promise<void> {
  for await (const chunk of stream) {
    sink.write(chunk);
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
