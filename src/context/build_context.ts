/**
 * BuildContext: the files a build sends to an engine, computed natively (no engine, no tar
 * binary) with Docker's .dockerignore semantics, plus extra files, as a deterministic tar
 * stream, a directory or a checksum.
 *
 * What is sent: the context directory walked like BuildKit's client does it (ignore.ts,
 * walk.ts); the Dockerfile and the ignore file are always kept when they are inside the root,
 * even when ignored (Docker sends both and the builder decides); extra files are merged last,
 * never filtered, and replace same-named context files. Entries are in depth-first byte order,
 * owner 0:0, permission bits only, every mtime = `sourceDateEpoch`.
 *
 * mtime: `SOURCE_DATE_EPOCH` when set, else 0 (1970-01-01), as ko and crane do. Context
 * mtimes reach image layers through COPY, so anything time-dependent would make image digests
 * depend on when the tree was checked out; a constant keeps identical trees identical.
 *
 * Ignore semantics: `ignoreDialect` "buildkit" (default) follows current Docker (Engine 23+,
 * buildx); "legacy" follows Docker 20.10, and is what test/context proves against a real
 * 20.10 daemon. See ignore.ts for the differences.
 *
 * Snapshot: the first `files()`, `stream()`, `checksum()`, `writeArchive()` or
 * `writeDirectory()` walks the disk; later calls send the same entries (`refresh()`, or adding
 * an extra, walks again). So what a build hashes (`files()`, for the checksum label) is what it
 * sends: a file that vanishes, changes size, or is rewritten or replaced after the walk (same
 * size included: inode, mtime and ctime are compared after it is read) fails the stream with a
 * RuntimeError naming it (`context.changed`); no truncated or different
 * archive is ever presented as complete. A one-shot write (`oneShot` in ArchiveOptions, the
 * CLI's `-o`) with no snapshot taken yet takes none: it walks while it writes (_streamed.ts),
 * with the same checks and the same bytes, in memory that does not grow with the context.
 *
 * Extension points for subclasses (flavors pick a class through `buildContextClass`):
 * - `finalizeEntries(entries)`: last look at the ordered entries; podman/buildah re-apply an
 *   ignore file found in the context, so a subclass may drop `this.ignoreFilePath` here.
 * - `alwaysIncluded()`: paths kept even when ignored (default: Dockerfile and ignore file).
 */
import { constants, existsSync, fstatSync, lstatSync, mkdirSync, readFileSync } from "node:fs";
import type { ArchiveOptions, ArchiveSink, BuildContextOptions, ContextEntry, ContextEntryList, ImageBuildContext } from "../builder/build_context.ts";
import { isAbsolute, join, resolve } from "node:path";
import { InputError, RuntimeError, type Location } from "../errors.ts";
import { FILES_PER_COLLECTION } from "./_heap.ts";
import { placeInside } from "./_inside.ts";
import { applyExtras, checkDestination, type Extra, type Node } from "./_extras.ts";
import { PIPE_BUFFERS, sinkWrite, withBlockingFd, writePath, writeStreamToFd, writeTarToFd, writeTarToPipe } from "./_sink.ts";
import { materialize } from "./_materialize.ts";
import { cleanPath, IgnoreMatcher, type IgnoreDialect } from "./ignore.ts";
import { tarStream } from "./_tar_stream.ts";
import { TarWriter, type EntrySource } from "./tar.ts";
import { nativeStatus, nativeTried } from "./_native.ts";
import { StreamedEntries } from "./_streamed.ts";
import { writeTarSplit } from "./_split.ts";
import { libc, SEEK_END } from "./_libc.ts";
import { WalkCursor } from "./_walk_cursor.ts";
import { GarbageBound } from "./_heap.ts";
import { EntryTable, type EntryList } from "./_table.ts";
import { comparePaths, ioError, statEntry, walkTable } from "./walk.ts";

export type { ArchiveOptions, ArchiveSink, BuildContextOptions, ContextEntry, ContextEntryList } from "../builder/build_context.ts";

/** A node as sent: hard links resolved. */
type SendEntry = Omit<Node, "type"> & { type: ContextEntry["type"] };

export class BuildContext implements ImageBuildContext {
  readonly root?: string;
  readonly dockerfile: string;
  /** Absolute path of the ignore file in use, if any. */
  readonly ignoreFile?: string;
  /** The ignore file's path inside the context, when it lies inside the root. */
  readonly ignoreFilePath?: string;
  readonly sourceDateEpoch: number;
  readonly ignoreDialect: IgnoreDialect;
  protected readonly onWarning?: (message: string) => void;
  private readonly extras = new Map<string, Extra>();
  /** The walk every method sends from, taken on first use (see "Snapshot" above). */
  private pinned: Promise<{ entries: EntryList<SendEntry>; cwd: string }> | undefined;

  constructor(options: BuildContextOptions = {}) {
    if (options.root !== undefined) this.root = resolve(options.root);
    this.dockerfile = options.dockerfile ?? "Dockerfile";
    if (isAbsolute(this.dockerfile)) throw new InputError("context.dockerfile", `Dockerfile path "${this.dockerfile}" must be relative to the context directory`);
    if (this.root) this.dockerfile = placeDockerfile(this.root, this.dockerfile);
    this.sourceDateEpoch = options.sourceDateEpoch ?? epochFromEnv(process.env.SOURCE_DATE_EPOCH);
    if (!Number.isSafeInteger(this.sourceDateEpoch) || this.sourceDateEpoch < 0 || this.sourceDateEpoch > 0o77777777777) {
      throw new InputError("context.source-date-epoch", `Invalid SOURCE_DATE_EPOCH "${this.sourceDateEpoch}": expected whole seconds since 1970`);
    }
    this.onWarning = options.onWarning;
    this.ignoreDialect = options.ignoreDialect ?? "buildkit";
    const ignoreFile = options.ignoreFile === undefined ? this.lookupIgnoreFile() : options.ignoreFile ?? undefined;
    if (ignoreFile !== undefined) {
      this.ignoreFile = resolve(ignoreFile);
      if (this.root && this.ignoreFile.startsWith(`${this.root}/`)) {
        // Reached through a symlink out of the root, it is read for its rules but not sent (as
        // an ignore file outside the root); through one inside, it is sent at its real path.
        const placed = placeInside(this.root, this.ignoreFile.slice(this.root.length + 1));
        if (placed.kind !== "outside") this.ignoreFilePath = placed.path;
      }
    }
  }

  /**
   * Add a file from disk at `destination` (mode defaults to the file's own). `location` (e.g. the
   * stack's JSON path) is reported with a destination that is invalid or lies below a symlink.
   */
  addFile(source: string, destination: string, mode?: number, location?: Location): this {
    this.extras.set(checkDestination(destination, location), { kind: "file", source: resolve(source), mode, location });
    return this.refresh();
  }

  /** Add inline content at `destination` (mode default 0644). */
  addContent(data: string | Uint8Array, destination: string, mode = 0o644, location?: Location): this {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    this.extras.set(checkDestination(destination, location), { kind: "content", data: bytes, mode, location });
    return this.refresh();
  }

  /** Add a directory tree from disk at `destination` (not filtered by ignore rules). */
  addDirectory(source: string, destination: string, location?: Location): this {
    this.extras.set(checkDestination(destination, location), { kind: "dir", source: resolve(source), location });
    return this.refresh();
  }

  /** Forget the snapshot: the next call walks the disk again (a long-lived context reused for a new build). */
  refresh(): this {
    this.pinned = undefined;
    return this;
  }

  /** What will be sent, in archive order. */
  async files(): Promise<ContextEntry[]> {
    const list = await this.fileList();
    const out: ContextEntry[] = [];
    for (let i = 0; i < list.length; i++) out.push(list.at(i)!);
    return out;
  }

  /** `files()`, each entry made when asked for (see ImageBuildContext.fileList). */
  async fileList(): Promise<ContextEntryList> {
    const { entries, cwd } = await this.snapshot();
    // A hard link's identity has its file's size, the first path's: the table knows the linked
    // paths without an entry object per row (an array holds its objects already).
    const linked = entries instanceof EntryTable ? entries.linkTargets() : new Set(listToArray(entries).flatMap((n) => (n.type === "hardlink" && n.linkTarget !== undefined ? [n.linkTarget] : [])));
    const sizes = new Map<string, number>();
    if (linked.size > 0) {
      const gc = new GarbageBound();
      for (let i = 0; i < entries.length; i++) {
        gc.tick();
        const n = entries.at(i)!;
        if (n.type === "file" && n.source && n.mtimeMs !== undefined && linked.has(n.path)) sizes.set(n.path, n.size);
      }
    }
    const at = (index: number): ContextEntry | undefined => {
      const n = entries.at(index);
      if (n === undefined) return undefined;
      const { path, type, mode, size, linkTarget, source, data, ino, mtimeMs, ctimeMs } = n;
      const e: ContextEntry = { path, type, mode, size };
      if (linkTarget !== undefined) e.linkTarget = linkTarget;
      if (source) e.source = resolve(cwd, source);
      if (data) e.content = data;
      if (source && mtimeMs !== undefined && ctimeMs !== undefined) {
        const fileSize = type === "hardlink" ? sizes.get(linkTarget ?? "") : size;
        if (fileSize !== undefined) e.identity = { ino, size: fileSize, mtimeMs, ctimeMs };
      }
      return e;
    };
    return { length: entries.length, at };
  }

  /** The context as a tar (or tar.gz) byte stream, e.g. for `Bun.spawn({ stdin })`. */
  stream(options: ArchiveOptions = {}): ReadableStream<Uint8Array> {
    return this.archiveStream(options);
  }

  /** `stream()`, leaving out `archive` (the file it is being written to, see WalkOptions.archive). */
  private archiveStream(options: ArchiveOptions, archive?: FileIdentity): ReadableStream<Uint8Array> {
    const tar = tarStream(async () => this.writer(false, options.oneShot, archive), options.signal);
    // node:zlib and CompressionStream both write gzip headers with mtime 0, no name, OS 3.
    return options.gzip ? tar.pipeThrough(new CompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>) : tar;
  }

  /**
   * Write the archive to a path (temp file + rename, an old archive removed first: never a partial one under the name; devices and FIFOs in place),
   * a file descriptor (not closed), a WritableStream, a Bun FileSink (subprocess stdin) or a
   * Node writable, honouring backpressure. Stream and sink are closed at the end (not
   * process.stdout/stderr). On failure a WritableStream is aborted; a FileSink or Node sink is
   * left open so the reader never sees a clean end: the caller must stop the consumer.
   */
  async writeArchive(sink: ArchiveSink, options: ArchiveOptions = {}): Promise<void> {
    const { gzip, signal } = options;
    if (typeof sink === "string" || typeof sink === "number") {
      const label = typeof sink === "number" ? (sink === 1 ? "stdout" : `file descriptor ${sink}`) : sink;
      const fill = async (fd: number, created?: string) => {
        let regularSplit = false;
        // A regular file inside the context (`-o ctx.tar`, or stdout redirected there) is left out of itself.
        const archive = regularFile(fd);
        if (gzip) await writeStreamToFd(fd, label, this.archiveStream(options, archive));
        else if (isPipe(fd)) await writeTarToPipe(fd, label, await this.writer(true, options.oneShot, archive, PIPE_BUFFERS), signal);
        else if ((regularSplit = created !== undefined || emptyAtStart(fd))) {
          // A new file of our own, or an empty one written from its start (`-o - > ctx.tar`):
          // written in parts, by two threads (_split.ts), the worker through its own descriptor.
          // Without the native loops (_native.ts): they cost ~2 MB of RSS, which the worker's
          // share of the 64 MB bound does not leave (measured at 40,000 files: 65 MB against 63,
          // for 0.32 s against 0.34); the one-thread writes keep them.
          const { entries, cwd } = await this.entries(options.oneShot, archive, false);
          await writeTarSplit(fd, created ?? `/proc/self/fd/${fd}`, label, entries, { mtime: this.sourceDateEpoch, cwd, native: false, ...(signal ? { signal } : {}), ...(options.onDebug ? { onDebug: options.onDebug } : {}) });
          // Positioned writes leave the offset where it was: put it at the end, where sequential
          // writes would have left it (the shell's next `echo >&1` goes after the archive).
          if (created === undefined && Number(libc()!.lseek(fd, 0, SEEK_END)) < 0) throw new RuntimeError("context.io", `Cannot write the archive to ${label}: lseek failed`);
        } else await writeTarToFd(fd, label, await this.writer(true, options.oneShot, archive), signal);
        if (!regularSplit && nativeTried()) options.onDebug?.(`context: ${nativeStatus()}`);
      };
      return typeof sink === "number" ? withBlockingFd(sink, fill) : writePath(sink, fill);
    }
    await sinkWrite(this.stream(options), sink, signal);
  }

  /** Materialize the context as a directory (files copied, symlinks and hard links recreated). */
  async writeDirectory(destination: string, options: Pick<ArchiveOptions, "signal" | "onDebug"> = {}): Promise<void> {
    mkdirSync(destination, { recursive: true });
    const { entries, cwd } = await this.snapshot();
    const { signal, onDebug } = options;
    // Copied by two threads for a big context (_materialize.ts, _parts.ts).
    await materialize(entries, resolve(destination), { mtime: this.sourceDateEpoch, cwd, ...(signal ? { signal } : {}), ...(onDebug ? { onDebug } : {}) });
  }

  /** "sha256:<hex>" of the uncompressed archive: any change of path, content, mode or link changes it. */
  async checksum(): Promise<string> {
    const hasher = new Bun.CryptoHasher("sha256");
    const writer = await this.writer(true);
    for (let c = writer.next(); c; c = writer.next()) hasher.update(c);
    return `sha256:${hasher.digest("hex")}`;
  }

  /** Paths kept even when the ignore rules exclude them. */
  protected alwaysIncluded(): string[] {
    return this.ignoreFilePath === undefined ? [this.dockerfile] : [this.dockerfile, this.ignoreFilePath];
  }

  /** Last look at the ordered entries before they are sent. Default: unchanged. */
  protected finalizeEntries(entries: ContextEntry[]): ContextEntry[] {
    return entries;
  }

  private lookupIgnoreFile(): string | undefined {
    if (!this.root) return undefined;
    const candidates = [join(this.root, `${this.dockerfile}.dockerignore`), join(this.root, ".dockerignore")];
    return candidates.find((c) => existsSync(c));
  }

  /** `oneShot` (see ArchiveOptions): walk while writing, when no snapshot is pinned and none is needed. */
  private async writer(reuseBuffer: boolean, oneShot = false, archive?: FileIdentity, buffers = 1): Promise<TarWriter> {
    const { entries, cwd } = await this.entries(oneShot, archive);
    return new TarWriter(entries, { mtime: this.sourceDateEpoch, reuseBuffer, cwd, buffers }); // buffers: used with reuseBuffer only
  }

  /** The entries to send: streamed for a one-shot write where possible, else the snapshot (`native`: false, a streamed walk without the native loops). */
  private async entries(oneShot = false, archive?: FileIdentity, native = true): Promise<{ entries: EntrySource<SendEntry>; cwd: string }> {
    return (oneShot && this.pinned === undefined ? await this.streamed(archive, native) : undefined) ?? (await this.snapshot(archive));
  }

  /**
   * The entries of a one-shot write, walked while they are written (_streamed.ts), nothing kept
   * for later calls; undefined where the snapshot path must be taken: extras (merged into the
   * whole tree) or a `finalizeEntries` hook (which sees the whole list).
   */
  private async streamed(archive?: FileIdentity, native = true): Promise<{ entries: EntrySource<SendEntry>; cwd: string } | undefined> {
    if (!this.root || this.extras.size > 0 || this.finalizeEntries !== BuildContext.prototype.finalizeEntries) return undefined;
    const matcher = this.ignoreFile ? await loadMatcher(this.ignoreFile, this.ignoreDialect) : undefined;
    const cwd = process.cwd();
    checkRoot(this.root);
    const forced = this.alwaysIncluded().map(cleanPath).filter((p) => p !== "." && p !== ".." && !p.startsWith("../") && !p.startsWith("/"));
    const cursor = new WalkCursor(this.root, { matcher, onWarning: this.onWarning, forced, ...(archive ? { archive } : {}), ...(native ? {} : { nativeAfter: Infinity }) });
    return { entries: new StreamedEntries(cursor, cwd), cwd };
  }

  /**
   * Walk, force-include, merge extras, order, detect hard links. Sources from the walk may be
   * relative to `cwd` (shorter kernel lookups, see walk.ts `lookupBase`).
   */
  private snapshot(archive?: FileIdentity): Promise<{ entries: EntryList<SendEntry>; cwd: string }> {
    if (this.pinned) return this.pinned;
    const walk = this.walk(archive);
    this.pinned = walk;
    // A failed walk is not kept: the next call tries again.
    walk.catch(() => {
      if (this.pinned === walk) this.pinned = undefined;
    });
    return walk;
  }

  private async walk(archive?: FileIdentity): Promise<{ entries: EntryList<SendEntry>; cwd: string }> {
    const matcher = this.ignoreFile ? await loadMatcher(this.ignoreFile, this.ignoreDialect) : undefined;
    let tree = new Tree([]);
    const cwd = process.cwd(); // the walk is synchronous: sources are relative to this
    let large = false;
    if (this.root) {
      checkRoot(this.root);
      const walked = walkTable(this.root, { matcher, onWarning: this.onWarning, ...(archive ? { archive } : {}) });
      tree = new Tree(walked);
      // A full collection is ~10 ms even on a small heap: only a walk with temporaries worth it.
      large = walked.length >= FILES_PER_COLLECTION;
      if (large) Bun.gc(true); // the walk's temporaries (names, Stats objects), before what follows allocates: a lower peak RSS (see _heap.ts)
      for (const path of this.alwaysIncluded()) this.forceInclude(tree, path);
    }
    if (this.extras.size > 0) applyExtras(tree.asMap(), this.extras, this.onWarning);
    const ordered = tree.ordered();
    assertNothingBelowLinks(tree, ordered);
    const overridden = this.finalizeEntries !== BuildContext.prototype.finalizeEntries;
    if (!overridden && ordered instanceof EntryTable) {
      // The common case (nothing added, no subclass hook): hard links marked in the table itself.
      const firstByInode = new Map<string, string>();
      for (let i = 0; i < ordered.length; i++) {
        if (ordered.type(i) !== "file" || ordered.nlink(i) < 2) continue;
        const key = ordered.inode(i);
        const first = firstByInode.get(key);
        if (first === undefined) firstByInode.set(key, ordered.path(i));
        else ordered.makeHardlink(i, first);
      }
      if (large) Bun.gc(true); // the walk's and this method's temporaries, before the tar writer's (see _heap.ts); ~10 ms, so only for a large walk
      return { entries: ordered, cwd };
    }
    const kept = overridden ? new Set(this.finalizeEntries(listToArray(ordered).map((n) => ({ ...n, source: n.source && resolve(cwd, n.source) }))).map((e) => e.path)) : undefined;
    // Hard links after the subclass hook, so a link never points at a dropped entry.
    const firstByInode = new Map<string, string>();
    const all = listToArray(ordered as EntryList<Node>); // no hard links yet: those are marked below
    const entries = (kept === undefined ? all : all.filter((n) => kept.has(n.path)))
      .map((n): SendEntry => {
        if (n.type !== "file" || n.extra || n.nlink < 2) return n;
        const key = `${n.dev}:${n.ino}`;
        const first = firstByInode.get(key);
        if (first === undefined) {
          firstByInode.set(key, n.path);
          return n;
        }
        return { ...n, source: n.source, type: "hardlink", size: 0, linkTarget: first }; // source: a getter (walk.ts), not copied by the spread
      });
    if (large) Bun.gc(true); // the walk's and this method's temporaries, before the tar writer's (see _heap.ts)
    return { entries, cwd };
  }

  private forceInclude(tree: Tree, path: string): void {
    const clean = cleanPath(path);
    // A Dockerfile outside the root is not part of the context (contextForImage adds it as an extra).
    if (clean === "." || clean === ".." || clean.startsWith("../") || clean.startsWith("/") || tree.has(clean)) return;
    const parts = clean.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      const known = tree.get(rel);
      // Never below a symlink (or a file): its target is not part of the context.
      if (known) {
        if (i < parts.length && known.type !== "dir") return;
        continue;
      }
      const abs = join(this.root!, rel);
      let st;
      try {
        st = lstatSync(abs);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
        throw ioError("inspect", abs, e);
      }
      const node = statEntry(rel, abs, st);
      if (!node || (i < parts.length && node.type !== "dir")) return;
      tree.asMap().set(rel, node);
    }
  }
}

/**
 * The context's entries by path. What the walk found is kept as its sorted array and searched
 * in place; a Map is made only when something is added (extras, a forced path), which also
 * allows any order. Issue #18: a Map of 40,000 entries (and its rehashes) was ~4 MB of the peak
 * RSS, for a lookup per forced path and per directory.
 */
class Tree {
  private map: Map<string, Node> | undefined;
  private sorted: EntryTable | Node[];

  constructor(walked: EntryTable | Node[]) {
    // The walk yields depth-first byte order; anything else goes through the map and a sort.
    this.sorted = walked;
    if (walked instanceof EntryTable) {
      for (let i = 1; i < walked.length; i++) {
        if (walked.comparePaths(i - 1, i) >= 0) {
          this.asMap();
          break;
        }
      }
      return;
    }
    const gc = new GarbageBound();
    let prev = walked.length > 0 ? pathAt(walked, 0) : "";
    for (let i = 1; i < walked.length; i++) {
      gc.tick();
      const path = pathAt(walked, i);
      if (comparePaths(prev, path) >= 0) {
        this.asMap();
        break;
      }
      prev = path;
    }
  }

  get(path: string): Node | undefined {
    if (this.map) return this.map.get(path);
    const i = this.indexOf(path);
    return i < 0 ? undefined : (this.sorted.at(i) as Node);
  }

  /** Index of `path` in the sorted entries (no map made yet), else -1. */
  indexOf(path: string): number {
    const a = this.sorted;
    for (let lo = 0, hi = a.length - 1; lo <= hi; ) {
      const mid = (lo + hi) >>> 1;
      const c = comparePaths(pathAt(a, mid), path);
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  /** The entries as a Map, to add to or replace in (from now on the Map is the tree). */
  asMap(): Map<string, Node> {
    if (!this.map) {
      this.map = new Map();
      for (const n of listToArray(this.sorted as EntryList<Node>)) this.map.set(n.path, n);
      this.sorted = [];
    }
    return this.map;
  }

  /** All entries in send order. */
  ordered(): EntryTable | Node[] {
    if (!this.map) return this.sorted;
    const ordered = [...this.map.values()];
    if (!ordered.every((n, i) => i === 0 || comparePaths(ordered[i - 1]!.path, n.path) < 0)) ordered.sort((a, b) => comparePaths(a.path, b.path));
    return ordered;
  }
}

/**
 * The Dockerfile path to send: as given, or its real path when it is reached through a symlink
 * inside the root. Through a symlink out of the root it is not in the context at all.
 */
function placeDockerfile(root: string, dockerfile: string): string {
  const clean = cleanPath(dockerfile);
  if (clean === "." || clean === ".." || clean.startsWith("../")) return dockerfile;
  const placed = placeInside(root, clean);
  if (placed.kind === "direct") return dockerfile;
  if (placed.kind === "resolved") return placed.path;
  throw new InputError("context.dockerfile-symlink", `Dockerfile "${dockerfile}" is reached through the symlink "${placed.via}", which leads outside the context directory "${root}"`, {
    hint: "Name the Dockerfile's real path (a Dockerfile outside the context is sent as an extra file), or make the link point inside the context",
  });
}

/**
 * Every entry's parent is a directory entry. An entry below a symlink entry would be written
 * through the link by whoever extracts the archive; the walk and the extras never make one, so
 * meeting one here is a bug, refused rather than sent.
 */
function assertNothingBelowLinks(tree: Tree, ordered: EntryTable | readonly Node[]): void {
  // Siblings follow each other: a parent found to be a directory is not looked up (nor its name
  // sliced out) again for the next entry.
  if (ordered instanceof EntryTable) {
    // The same on the table's bytes: a path string only at the first entry of each directory.
    let dirRow = -1;
    for (let i = 0; i < ordered.length; i++) {
      const slash = ordered.parentLength(i);
      if (slash < 0) continue;
      if (dirRow >= 0 && slash === ordered.pathLength(dirRow) && ordered.startsWithPath(i, dirRow)) continue;
      const path = ordered.path(i);
      const parentPath = path.slice(0, path.lastIndexOf("/"));
      const at = tree.indexOf(parentPath);
      const type = at < 0 ? undefined : ordered.type(at);
      if (type !== "dir") {
        throw new RuntimeError("context.below-link", `Refusing to send "${path}": its parent "${parentPath}" is ${type ? `a ${type}` : "missing"} in the build context, not a directory`);
      }
      dirRow = at;
    }
    return;
  }
  let dir = "";
  const gc = new GarbageBound(); // a path string per entry of a table
  for (let i = 0; i < ordered.length; i++) {
    gc.tick();
    const n = { path: pathAt(ordered, i) };
    const slash = n.path.lastIndexOf("/");
    if (slash < 0) continue;
    if (slash === dir.length && n.path.startsWith(dir)) continue;
    const parent = tree.get(n.path.slice(0, slash));
    if (parent?.type === "dir") dir = parent.path;
    if (parent?.type !== "dir") {
      throw new RuntimeError("context.below-link", `Refusing to send "${n.path}": its parent "${n.path.slice(0, slash)}" is ${parent ? `a ${parent.type}` : "missing"} in the build context, not a directory`);
    }
  }
}

type FileIdentity = { dev: number; ino: number };

/** Is `fd` a pipe or FIFO (the archive goes to a reader: `imgb context -o - | ...`)? */
function isPipe(fd: number): boolean {
  try {
    return fstatSync(fd).isFIFO();
  } catch {
    return false;
  }
}

/**
 * Whether `fd` is an empty regular file at offset 0, not opened O_APPEND (Linux /proc/self/fdinfo;
 * elsewhere, without /proc, or without libc's lseek to move the offset after: false). Positioned
 * writes then give what sequential ones would.
 */
function emptyAtStart(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size !== 0) return false;
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    const pos = /^pos:\s+(\d+)$/m.exec(info)?.[1];
    const flags = /^flags:\s+([0-7]+)$/m.exec(info)?.[1];
    return pos === "0" && flags !== undefined && (Number.parseInt(flags, 8) & constants.O_APPEND) === 0 && existsSync(`/proc/self/fd/${fd}`) && libc() !== null;
  } catch {
    return false;
  }
}

/** The device and inode of `fd` when it is a regular file (an archive on disk), else undefined. */
function regularFile(fd: number): FileIdentity | undefined {
  try {
    const st = fstatSync(fd);
    return st.isFile() ? { dev: st.dev, ino: st.ino } : undefined;
  } catch {
    return undefined;
  }
}

function checkRoot(root: string): void {
  let rootStat;
  try {
    rootStat = lstatSync(root);
  } catch (e) {
    throw new InputError("context.root", `Context directory "${root}" cannot be read: ${(e as Error).message}`);
  }
  if (!rootStat.isDirectory()) throw new InputError("context.root", `Context path "${root}" is not a directory`);
}

async function loadMatcher(path: string, dialect: IgnoreDialect): Promise<IgnoreMatcher> {
  try {
    return await IgnoreMatcher.load(path, dialect);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new InputError("context.ignore-file", `Ignore file "${path}" does not exist`);
    throw e;
  }
}

function epochFromEnv(value: string | undefined): number {
  if (value === undefined || value === "") return 0;
  if (!/^\d+$/.test(value)) throw new InputError("context.source-date-epoch", `Invalid SOURCE_DATE_EPOCH "${value}": expected whole seconds since 1970`);
  return Number(value);
}

/** Path `i` of a list, without making the table's entry object. */
function pathAt(list: EntryTable | readonly Node[], i: number): string {
  return list instanceof EntryTable ? list.path(i) : (list as readonly Node[])[i]!.path;
}

/** The entry at `path` in `list` (a linear search: `fileList()` makes each entry it looks at, then drops it). */
export function findEntry(list: ContextEntryList, path: string): ContextEntry | undefined {
  const gc = new GarbageBound();
  for (let i = 0; i < list.length; i++) {
    gc.tick();
    const e = list.at(i)!;
    if (e.path === path) return e;
  }
  return undefined;
}

/** The list as an array (a table's rows made into objects). */
function listToArray<T>(list: EntryList<T>): T[] {
  if (Array.isArray(list)) return list as T[];
  const out: T[] = [];
  for (let i = 0; i < list.length; i++) out.push(list.at(i)!);
  return out;
}
