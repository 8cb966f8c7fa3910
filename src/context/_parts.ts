/**
 * Context work shared by two threads (issue #18): the entries are cut into parts as they are
 * read, in order, and each part is done by whichever thread takes it first, the main thread
 * (which also reads the entries and cuts them) or one worker thread. What doing a part means is
 * the caller's: writing its tar records at their offset in a new archive file (_split.ts), or
 * copying its files into a directory (_materialize.ts). The worker gets the same work as a
 * `Task` (plain data) and makes its own part function from it (_split_worker.ts).
 *
 * Taking a part: the parts are taken in order, by a compare-and-swap on a shared counter
 * (CLAIM). The main thread posts every part to the worker as soon as it is cut; it does one
 * itself when more than AHEAD are waiting (it then reads ahead less), and at the end takes all
 * those left. A worker that is slow to start, or never starts (no threads, a bundle without its
 * entry point), only leaves more parts to the main thread: the result is the same.
 *
 * Failure: the first thread to fail raises FAILED, after which neither takes a part; the main
 * thread waits until the worker is between parts (BUSY), and throws the error of the earliest
 * part, as one thread doing them in order would have met it first. A failure of the main
 * thread's own work as it cuts (`failAfter`: a directory it makes) ends the cutting, and comes
 * after the failures of the parts cut before it. The worker works through descriptors of its own, so nothing it does can
 * reach a descriptor the process reuses afterwards.
 *
 * Tuning, measured for the archive (40,000 files of 100 B..12 KiB): AHEAD 3 left the main
 * thread half the parts (it cuts a walk window of 4,096 entries, 16 parts, at once) and was no
 * faster than one thread; 8-16 gave it ~35%. Parts posted as entry objects cost the main thread
 * ~75 ms in structured clones: hence `pack`.
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { CancelledError, ImgbError, InputError, RuntimeError } from "../errors.ts";
import type { TarEntry } from "./tar.ts";

/** A part: at most this many entries... */
export const PART_ENTRIES = 256;
/** ...or this many bytes (of archive, or of files to copy; a bigger file is a part of its own). */
export const PART_BYTES = 1 << 20;
/** Parts cut but not taken before the main thread does one itself. */
export const AHEAD = 8;
/**
 * The worker is started once there are this many parts, or this many bytes: a context smaller
 * than that is done by the main thread alone (a thread costs ~15-30 ms to start, on the other
 * core, and memory).
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
const DONE = 1; // parts done, by either thread
const FAILED = 2; // 1 once a thread failed or the work was given up
const BUSY = 3; // 1 while the worker is inside a part
const WORKER_PARTS = 4; // parts the worker did
const READY = 5; // 1 once the worker runs
const SLOTS = 6;

/** What the worker is to do with its parts (plain data: it crosses to the worker). */
export type Task =
  /** Write each part's tar records at its offset into the archive file at `path` (`label` in errors); `native`: the main thread's native loop (_native.ts). */
  | { kind: "tar"; path: string; label: string; mtime: number; cwd: string; native?: number }
  /** Copy each part's files and symlinks into `dest` (its directories exist). */
  | { kind: "dir"; dest: string; mtime: number; cwd: string; umask: number };

/** What a thread does with one part (throws what the work throws). */
export type PartFn = (part: Part) => void;

export interface PartOptions {
  signal?: AbortSignal;
  /** Start the worker whatever the size (tests: every cut is then reached by both threads). */
  startAt?: { parts: number; bytes: number };
  /** Told how the parts were shared. */
  onDebug?: (message: string) => void;
}

export interface Part {
  k: number;
  entries: TarEntry[];
  /** Where the part starts (the archive offset; 0 where that means nothing) and its size in bytes. */
  offset: number;
  bytes: number;
}

interface Init {
  port: MessagePort;
  counters: Int32Array;
  task: Task;
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
 * The main thread's side. `add` each part as it is cut, then `finish` (throws the earliest
 * failure), and always `stop` (in a finally).
 */
export class Parts {
  private readonly counters = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  private readonly startAt: { parts: number; bytes: number };
  private thread: Thread | undefined;
  private noThread = false; // one could not be made: not tried again
  private readonly pending = new Map<number, Part>();
  /** Parts cut so far, and how many of them this thread did. */
  private count = 0;
  private mine = 0;
  private ownFailure: { k: number; error: unknown } | undefined;
  private last: unknown;

  /** `run` does a part on this thread; the worker gets `task` (made when it starts, if a function) and makes its own. */
  constructor(
    private readonly task: Task | (() => Task),
    private readonly run: PartFn,
    private readonly options: PartOptions = {},
  ) {
    this.startAt = options.startAt ?? { parts: START_PARTS, bytes: START_BYTES };
  }

  /** A thread failed: cut no more. */
  get failed(): boolean {
    return Atomics.load(this.counters, FAILED) !== 0;
  }

  /**
   * A part is cut (`total`: bytes so far, parts included, for starting the worker): posted, the
   * worker started if it is time, and parts done here while too many wait. Now and then a turn
   * of the event loop (blocking work starves it: signal handlers run then); throws
   * CancelledError once the signal is aborted.
   */
  async add(entries: TarEntry[], offset: number, bytes: number, total: number): Promise<void> {
    const c = this.counters;
    const part: Part = { k: this.count, entries, offset, bytes };
    this.pending.set(this.count, part);
    this.count++;
    // Started before the part is posted: every part from the first the worker is told of on, it can take.
    if (this.thread === undefined && !this.noThread && (this.count >= this.startAt.parts || total >= this.startAt.bytes)) {
      this.thread = Thread.start({ counters: c, task: typeof this.task === "function" ? this.task() : this.task }, this.options.onDebug);
      this.noThread = this.thread === undefined;
    }
    this.thread?.post(part);
    // Parts the worker took are gone (keys are in cut order).
    for (const key of this.pending.keys()) {
      if (key >= Atomics.load(c, CLAIM)) break;
      this.pending.delete(key);
    }
    const ahead = this.thread ? AHEAD : 0;
    while (this.count - Atomics.load(c, CLAIM) > ahead && this.takeOne());
    if (this.options.signal?.aborted) throw new CancelledError("Writing the build context was cancelled");
    if (this.count % 16 === 0) await new Promise((r) => setImmediate(r));
  }

  /**
   * The main thread's own work after the parts cut so far failed (a directory it makes as it
   * cuts): no part is cut after it, those before it are still done (one of their failures
   * would have come first), and `finish` throws this if none of them failed.
   */
  failAfter(error: unknown): void {
    this.last ??= error;
  }

  /** Do the parts left, wait for the worker's, and throw the earliest failure if there was one (`where`: the output, for a message). */
  async finish(where: string): Promise<void> {
    const { signal } = this.options;
    while (this.takeOne());
    if (this.thread) await this.thread.wait(this.count, signal);
    if (signal?.aborted) throw new CancelledError("Writing the build context was cancelled");
    if (this.failed) {
      const theirs = this.thread?.failure();
      const own = this.ownFailure;
      if (theirs && (own === undefined || theirs.k < own.k)) throw revive(theirs.error);
      if (own) throw own.error;
      throw new RuntimeError("context.write", `Writing the build context to "${where}" stopped before its end`);
    }
    if (this.last !== undefined) throw this.last;
  }

  /** For --debug: how the parts were shared (undefined when no worker was started); `done`: "written", "copied". */
  async debugLine(done: string): Promise<string | undefined> {
    if (!this.thread) return undefined;
    return `context: ${this.count} parts, ${Atomics.load(this.counters, WORKER_PARTS)} ${done} by a second thread (${await this.thread.loaded()}), ${this.mine} by the main thread`;
  }

  /** Let the worker end (after it left any part it was in); no part is taken from now on. */
  async stop(): Promise<void> {
    if (this.thread) await this.thread.stop();
  }

  /** Take the next part if there is one (false: none left to take, or the work failed). */
  private takeOne(): boolean {
    const c = this.counters;
    for (;;) {
      if (Atomics.load(c, FAILED) !== 0) return false;
      const k = Atomics.load(c, CLAIM);
      if (k >= this.count) return false;
      if (Atomics.compareExchange(c, CLAIM, k, k + 1) !== k) continue;
      const part = this.pending.get(k)!;
      this.pending.delete(k);
      try {
        this.run(part);
      } catch (e) {
        if (this.ownFailure === undefined || k < this.ownFailure.k) this.ownFailure = { k, error: e };
        Atomics.store(c, FAILED, 1);
        return false;
      }
      this.mine++;
      Atomics.add(c, DONE, 1);
      return true;
    }
  }
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
      onDebug?.(`context: no second thread (${(e as Error).message}): the main thread does every part`);
      return undefined;
    }
    // Never keeps the process alive; a worker that fails to load takes no part.
    thread.worker.unref();
    thread.worker.on("error", (e: Error) => {
      thread.dead = true;
      onDebug?.(`context: the second thread failed (${e.message}): the main thread does the parts left`);
    });
    thread.worker.on("exit", () => (thread.dead = true));
    return thread;
  }

  post(part: Part): void {
    const packed = pack(part);
    this.worker.postMessage(packed satisfies ToWorker, [packed.types.buffer as ArrayBuffer, packed.numbers.buffer as ArrayBuffer]);
  }

  /** Until all `parts` are done, or a thread failed and the worker is between parts. */
  async wait(parts: number, signal?: AbortSignal): Promise<void> {
    const c = this.counters;
    for (;;) {
      const failed = Atomics.load(c, FAILED) !== 0;
      if (failed ? Atomics.load(c, BUSY) === 0 : Atomics.load(c, DONE) >= parts) return;
      if (this.dead) {
        // It is gone (it cannot be inside a part): whatever it had taken is not done.
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

  /** Let the worker close its descriptors and end; it takes no part from now on. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const c = this.counters;
    // No part is taken from now on (after a failure, or an error of the caller's own, the worker
    // could still have parts it was posted).
    Atomics.store(c, FAILED, 1);
    // Never return while it may still write (a failed archive's temp file is unlinked, a
    // success's renamed; a directory is handed to an engine): wait until it is between parts.
    while (Atomics.load(c, BUSY) !== 0 && !this.dead) {
      await this.pause(BUSY);
    }
    this.worker.postMessage({ end: true } satisfies ToWorker);
    this.port.close();
  }
}

/**
 * The worker's side (_split_worker.ts): take the parts posted to it while they are the next.
 * `make` turns the task into this thread's part function and its cleanup.
 */
export function runPartsWorker({ port, counters, task }: Init, make: (task: Task) => { run: PartFn; close: () => void }, on: (listener: (m: ToWorker) => void) => void, exit: () => void): void {
  const parts = new Map<number, Part>();
  const work = make(task);
  Atomics.store(counters, READY, 1);
  Atomics.notify(counters, READY);
  const finish = () => {
    work.close();
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
        work.run(part);
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
