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
 * Tuning, measured: AHEAD 3 left the main thread half the parts (it cuts a walk window of
 * 4,096 entries, 16 parts, at once) and was no faster than one thread; 8-16 gave it ~35%.
 * Parts posted as entry objects cost the main thread ~75 ms in structured clones: hence
 * `pack`. One TarWriter per thread (`restart`), not one per part: a 256 KiB buffer per part
 * cost ~170 ms of CPU and 30 MB of RSS.
 *
 * Taking a part: the parts are taken in order, by a compare-and-swap on a shared counter
 * (CLAIM). The main thread posts every part to the worker as soon as it is cut; it writes one
 * itself when more than AHEAD are waiting (it then walks ahead less), and at the end takes all
 * those left. A worker that is slow to start, or never starts (no threads, a bundle without its
 * entry point), only leaves more parts to the main thread: the archive is the same.
 *
 * Failure: the first thread to fail raises FAILED, after which neither takes a part; the main
 * thread waits until the worker is between parts (BUSY), and throws the error of the earlier
 * part, as a one-thread write would have met it first. The worker writes through its own
 * descriptor of the file (opened by path), so nothing it does can reach a descriptor the
 * process reuses after this write.
 *
 * Only for an empty regular file written from offset 0, not O_APPEND, not a pipe: writePath's
 * new file, or stdout redirected to an empty file (build_context.ts `emptyAtStart`, which then
 * moves the offset to the end).
 */
import { closeSync, constants, ftruncateSync, openSync, writeSync } from "node:fs";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { CancelledError, ImgbError, InputError, RuntimeError } from "../errors.ts";
import { writeError } from "./_sink.ts";
import { leadBlock, recordBytes, TarWriter, type EntrySource, type TarEntry } from "./tar.ts";

/** A part: at most this many entries... */
export const PART_ENTRIES = 256;
/** ...or this many archive bytes (a bigger file is a part of its own). */
export const PART_BYTES = 1 << 20;
/** Parts cut but not taken before the main thread writes one itself. */
export const AHEAD = 8;
/**
 * The worker is started once the archive has this many parts, or this many bytes: a context
 * smaller than that is written by the main thread alone (a thread costs ~15-30 ms to start, on
 * the other core, and memory).
 */
export const START_PARTS = 4;
export const START_BYTES = 8 << 20;

/**
 * The worker's entry point: in the binary, the bundled entry (scripts/build.ts bundles
 * src/context/_split_worker.ts as context/_split_worker.js; an absolute /$bunfs path, never a
 * relative one, which Bun would look up on disk if it were missing); from source, the file
 * beside this one.
 */
const WORKER = import.meta.url.startsWith("file:///$bunfs/") ? "/$bunfs/root/context/_split_worker.js" : new URL("./_split_worker.ts", import.meta.url);

/** Slots of the shared counters. */
const CLAIM = 0; // the next part to take
const DONE = 1; // parts written, by either thread
const FAILED = 2; // 1 once a thread failed or the write was given up
const BUSY = 3; // 1 while the worker is inside a part
const WORKER_PARTS = 4; // parts the worker wrote
const READY = 5; // 1 once the worker runs
const SLOTS = 6;

export interface SplitOptions {
  /** mtime of every entry, in seconds since the epoch. */
  mtime: number;
  /** Directory relative `source` paths were made against. */
  cwd: string;
  signal?: AbortSignal;
  /** Start the worker whatever the size (tests: every cut is then reached by both threads). */
  startAt?: { parts: number; bytes: number };
  /** Cut parts of at most this many entries (tests). */
  partEntries?: number;
  /** Told how the parts were shared. */
  onDebug?: (message: string) => void;
}

interface Init {
  port: MessagePort;
  counters: Int32Array;
  path: string;
  label: string;
  mtime: number;
  cwd: string;
}

interface Part {
  k: number;
  entries: TarEntry[];
  offset: number;
  bytes: number;
}

/**
 * A part as posted to the worker: a few strings and typed arrays (transferred), not an object
 * per entry. Measured: the structured clone of 40,000 entry objects took ~75 ms of the main
 * thread.
 */
interface PackedPart {
  k: number;
  offset: number;
  bytes: number;
  /** Paths, sources (files only) and link targets, each list joined by NUL (which no path holds). */
  paths: string;
  sources: string;
  links: string;
  types: Uint8Array;
  /** Per entry: mode, size, ino, mtimeMs, ctimeMs (NaN: not recorded). */
  numbers: Float64Array;
  /** Inline contents, by index in the part. */
  data: [number, Uint8Array][];
}

const TYPES: TarEntry["type"][] = ["file", "dir", "symlink", "hardlink"];
const FIELDS = 5;

function pack(part: Part): PackedPart {
  const { entries } = part;
  const n = entries.length;
  const types = new Uint8Array(n);
  const numbers = new Float64Array(n * FIELDS);
  const paths: string[] = [];
  const sources: string[] = [];
  const links: string[] = [];
  const data: [number, Uint8Array][] = [];
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    paths.push(e.path);
    sources.push(e.type === "file" && e.source !== undefined ? e.source : "");
    links.push(e.linkTarget ?? "");
    types[i] = TYPES.indexOf(e.type);
    const o = i * FIELDS;
    numbers[o] = e.mode;
    numbers[o + 1] = e.size;
    numbers[o + 2] = e.ino ?? Number.NaN;
    numbers[o + 3] = e.mtimeMs ?? Number.NaN;
    numbers[o + 4] = e.ctimeMs ?? Number.NaN;
    if (e.data) data.push([i, e.data]);
  }
  return { k: part.k, offset: part.offset, bytes: part.bytes, paths: paths.join("\0"), sources: sources.join("\0"), links: links.join("\0"), types, numbers, data };
}

function unpack(p: PackedPart): Part {
  const paths = p.paths.split("\0");
  const sources = p.sources.split("\0");
  const links = p.links.split("\0");
  const entries: TarEntry[] = [];
  for (let i = 0; i < p.types.length; i++) {
    const o = i * FIELDS;
    const e: TarEntry = { path: paths[i]!, type: TYPES[p.types[i]!]!, mode: p.numbers[o]!, size: p.numbers[o + 1]! };
    if (sources[i] !== "") e.source = sources[i]!;
    if (links[i] !== "") e.linkTarget = links[i]!;
    if (!Number.isNaN(p.numbers[o + 2]!)) e.ino = p.numbers[o + 2]!;
    if (!Number.isNaN(p.numbers[o + 3]!)) e.mtimeMs = p.numbers[o + 3]!;
    if (!Number.isNaN(p.numbers[o + 4]!)) e.ctimeMs = p.numbers[o + 4]!;
    entries.push(e);
  }
  for (const [i, data] of p.data) entries[i]!.data = data;
  return { k: p.k, entries, offset: p.offset, bytes: p.bytes };
}

type ToWorker = PackedPart | { end: true };

interface Failure {
  k: number;
  error: ErrorData;
}

interface ErrorData {
  name: string;
  message: string;
  code?: string;
  hint?: string;
  stack?: string;
}

/**
 * Write the archive of `entries` into `fd`, a new regular file at `path` (opened for writing,
 * empty). `label` names it in errors.
 */
export async function writeTarSplit(fd: number, path: string, label: string, entries: EntrySource<TarEntry>, options: SplitOptions): Promise<void> {
  const counters = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  const partEntries = options.partEntries ?? PART_ENTRIES;
  const startAt = options.startAt ?? { parts: START_PARTS, bytes: START_BYTES };
  let thread: Thread | undefined;
  let noThread = false; // one could not be made: not tried again
  const pending = new Map<number, Part>();
  let parts = 0;
  let mine = 0;
  let ownFailure: { k: number; error: unknown } | undefined;
  const write = partWriter(options.mtime, options.cwd);

  /** Take the next part if there is one (false: none left to take, or the write failed). */
  const takeOne = (): boolean => {
    for (;;) {
      if (Atomics.load(counters, FAILED) !== 0) return false;
      const k = Atomics.load(counters, CLAIM);
      if (k >= parts) return false;
      if (Atomics.compareExchange(counters, CLAIM, k, k + 1) !== k) continue;
      const part = pending.get(k)!;
      pending.delete(k);
      try {
        write(fd, label, part);
      } catch (e) {
        ownFailure = { k, error: e };
        Atomics.store(counters, FAILED, 1);
        return false;
      }
      mine++;
      Atomics.add(counters, DONE, 1);
      return true;
    }
  };

  try {
    const lead = leadBlock(entries.at(0), options.mtime);
    if (lead) pwriteAll(fd, label, lead, 0);
    let offset = lead?.length ?? 0;
    let cut: TarEntry[] = [];
    let cutOffset = offset;
    const close = () => {
      const part: Part = { k: parts, entries: cut, offset: cutOffset, bytes: offset - cutOffset };
      pending.set(parts, part);
      parts++;
      // Started before the part is posted: every part from the first the worker is told of on, it can take.
      if (thread === undefined && !noThread && (parts >= startAt.parts || offset >= startAt.bytes)) {
        thread = Thread.start({ counters, path, label, mtime: options.mtime, cwd: options.cwd }, options.onDebug);
        noThread = thread === undefined;
      }
      thread?.post(part);
      cut = [];
      cutOffset = offset;
      // Parts the worker took are gone (keys are in cut order).
      for (const key of pending.keys()) {
        if (key >= Atomics.load(counters, CLAIM)) break;
        pending.delete(key);
      }
      const ahead = thread ? AHEAD : 0;
      while (parts - Atomics.load(counters, CLAIM) > ahead && takeOne());
    };
    for (let i = 0; ; i++) {
      if (Atomics.load(counters, FAILED) !== 0) break;
      const e = entries.at(i);
      if (e === undefined) break;
      cut.push(e);
      offset += recordBytes(e);
      if (cut.length >= partEntries || offset - cutOffset >= PART_BYTES) {
        close();
        if (options.signal?.aborted) throw new CancelledError("Writing the build context was cancelled");
        // Blocking writes starve the event loop; let signal handlers run now and then.
        if (parts % 16 === 0) await new Promise((r) => setImmediate(r));
      }
    }
    if (cut.length > 0 && Atomics.load(counters, FAILED) === 0) close();
    while (takeOne());
    if (thread) await thread.wait(parts, options.signal);
    if (options.signal?.aborted) throw new CancelledError("Writing the build context was cancelled");
    if (Atomics.load(counters, FAILED) !== 0) {
      const theirs = thread?.failure();
      if (theirs && (ownFailure === undefined || theirs.k < ownFailure.k)) throw revive(theirs.error);
      if (ownFailure) throw ownFailure.error;
      throw new RuntimeError("context.write", `Writing the build context to "${label}" stopped before its end`);
    }
    // The two zero blocks that end the archive: the file is zero where it was never written.
    try {
      ftruncateSync(fd, offset + 1024);
    } catch (e) {
      throw writeError(label, e);
    }
    if (thread && options.onDebug) options.onDebug(`context: ${parts} parts, ${Atomics.load(counters, WORKER_PARTS)} written by a second thread (${await thread.loaded()}), ${mine} by the main thread`);
  } catch (e) {
    Atomics.store(counters, FAILED, 1);
    throw e;
  } finally {
    if (thread) await thread.stop();
  }
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
function partWriter(mtime: number, cwd: string): (fd: number, label: string, part: Part) => void {
  const writer = new TarWriter([], { mtime, cwd, reuseBuffer: true, fragment: true });
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

/** The main thread's handle on the worker. */
class Thread {
  private dead = false;
  private stopped = false;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly counters: Int32Array,
  ) {}

  static start(init: Omit<Init, "port">, onDebug?: (message: string) => void): Thread | undefined {
    const { port1, port2 } = new MessageChannel();
    let thread: Thread;
    try {
      const worker = new Worker(WORKER, { workerData: { ...init, port: port2 } satisfies Init, transferList: [port2] });
      thread = new Thread(worker, port1, init.counters);
    } catch (e) {
      port1.close();
      onDebug?.(`context: no second thread (${(e as Error).message}): the main thread writes every part`);
      return undefined;
    }
    // Never keeps the process alive; a worker that fails to load takes no part.
    thread.worker.unref();
    thread.worker.on("error", (e: Error) => {
      thread.dead = true;
      onDebug?.(`context: the second thread failed (${e.message}): the main thread writes the parts left`);
    });
    thread.worker.on("exit", () => (thread.dead = true));
    return thread;
  }

  post(part: Part): void {
    const packed = pack(part);
    this.worker.postMessage(packed satisfies ToWorker, [packed.types.buffer as ArrayBuffer, packed.numbers.buffer as ArrayBuffer]);
  }

  /** Until all `parts` are written, or a thread failed and the worker is between parts. */
  async wait(parts: number, signal?: AbortSignal): Promise<void> {
    const c = this.counters;
    for (;;) {
      const failed = Atomics.load(c, FAILED) !== 0;
      if (failed ? Atomics.load(c, BUSY) === 0 : Atomics.load(c, DONE) >= parts) return;
      if (this.dead) {
        // It is gone (it cannot be inside a part): whatever it had taken is not written.
        Atomics.store(c, FAILED, 1);
        return;
      }
      await this.pause(failed ? BUSY : DONE);
      if (signal?.aborted && !failed) {
        Atomics.store(c, FAILED, 1);
      }
    }
  }

  /** Up to 20 ms for counter `slot` to change, then a turn of the event loop (signals, the worker's events). */
  private async pause(slot: number): Promise<void> {
    Atomics.wait(this.counters, slot, Atomics.load(this.counters, slot), 20);
    await new Promise((r) => setImmediate(r));
  }

  /** For --debug: whether the worker ran (waiting up to 5 s for it to load, if it did not yet). */
  async loaded(): Promise<string> {
    for (let waited = 0; Atomics.load(this.counters, READY) === 0 && !this.dead && waited < 5000; waited += 20) {
      await this.pause(READY);
    }
    return Atomics.load(this.counters, READY) === 1 ? "it ran" : this.dead ? "it failed to load" : "it did not load in 5 s";
  }

  /** The worker's failure, if it had one. */
  failure(): Failure | undefined {
    const m = receiveMessageOnPort(this.port);
    return m?.message as Failure | undefined;
  }

  /** Let the worker close its descriptor and end; it takes no part from now on. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const c = this.counters;
    if (Atomics.load(c, DONE) < Atomics.load(c, CLAIM)) Atomics.store(c, FAILED, 1);
    // Never return while it may still write into the file (a failure's temp file is unlinked,
    // a success's renamed): wait until it is between parts.
    while (Atomics.load(c, BUSY) !== 0 && !this.dead) {
      await this.pause(BUSY);
    }
    this.worker.postMessage({ end: true } satisfies ToWorker);
    this.port.close();
  }
}

/** The worker's side (_split_worker.ts): take the parts posted to it while they are the next. */
export function runSplitWorker({ port, counters, path, label, mtime, cwd }: Init, on: (listener: (m: ToWorker) => void) => void, exit: () => void): void {
  const parts = new Map<number, Part>();
  let fd = -1;
  const write = partWriter(mtime, cwd);
  Atomics.store(counters, READY, 1);
  Atomics.notify(counters, READY);
  const finish = () => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
    port.close();
    exit();
  };
  on((m) => {
    if ("end" in m) return finish();
    parts.set(m.k, unpack(m));
    for (const key of parts.keys()) {
      if (key >= Atomics.load(counters, CLAIM)) break;
      parts.delete(key);
    }
    for (;;) {
      // BUSY before the FAILED check: the main thread raises FAILED, then waits for BUSY 0.
      Atomics.store(counters, BUSY, 1);
      if (Atomics.load(counters, FAILED) !== 0) break;
      const k = Atomics.load(counters, CLAIM);
      const part = parts.get(k);
      if (part === undefined) break;
      if (Atomics.compareExchange(counters, CLAIM, k, k + 1) !== k) continue;
      parts.delete(k);
      try {
        if (fd < 0) fd = openSync(path, constants.O_WRONLY);
        write(fd, label, part);
        Atomics.add(counters, WORKER_PARTS, 1);
        Atomics.add(counters, DONE, 1);
        Atomics.notify(counters, DONE);
      } catch (e) {
        port.postMessage({ k, error: errorData(e) } satisfies Failure);
        Atomics.store(counters, FAILED, 1);
        Atomics.notify(counters, DONE);
        break;
      }
    }
    Atomics.store(counters, BUSY, 0);
    Atomics.notify(counters, BUSY);
  });
}

function errorData(e: unknown): ErrorData {
  if (e instanceof ImgbError) return { name: e.name, message: e.message, code: e.code, ...(e.hint ? { hint: e.hint } : {}) };
  const err = e instanceof Error ? e : new Error(String(e));
  return { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
}

/** The worker's error as the main thread would have thrown it (class, code, message, hint). */
function revive(d: ErrorData): Error {
  const options = d.hint ? { hint: d.hint } : {};
  if (d.code !== undefined) return d.name === "InputError" ? new InputError(d.code, d.message, options) : new RuntimeError(d.code, d.message, options);
  const err = new Error(d.message);
  err.name = d.name;
  if (d.stack) err.stack = d.stack;
  return err;
}
