/**
 * The build context as the contract sees it: what a builder may read and how it may send it.
 * Type-only on purpose — the implementation (src/context/build_context.ts: walker, ignore
 * matcher, tar writer) implements this interface, and the contract never imports it, so a
 * flavor's light module and the SDK's types pull no implementation in.
 */
import type { Location } from "../errors.ts";

/** What a context file was when the snapshot was taken. Treat as opaque: compare, don't build. */
export interface FileIdentity {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** An entry as sent, in archive order. */
export interface ContextEntry {
  /** POSIX relative path; directories without a trailing slash. */
  path: string;
  type: "file" | "dir" | "symlink" | "hardlink";
  mode: number;
  size: number;
  /** Symlink target, or for a hard link the path of the entry it links to. */
  linkTarget?: string;
  /** Absolute path on disk, undefined for inline content. */
  source?: string;
  /** The bytes of an inline-content entry (`addContent`). */
  content?: Uint8Array;
  /**
   * Files and hard links read from disk: the file as the snapshot saw it (a hard link's `size`
   * is 0, its identity's is the file's). Read `source` through `readSnapshotFile` (or give a
   * TarWriter `identityFields`), never directly: see src/context/snapshot_file.ts.
   */
  identity?: FileIdentity;
}

/** The entries in archive order, made on demand (an array is one too). */
export interface ContextEntryList {
  readonly length: number;
  at(index: number): ContextEntry | undefined;
}

export interface ArchiveOptions {
  gzip?: boolean;
  signal?: AbortSignal;
  /**
   * Nothing else will be asked of this context (no `files()` or `checksum()` after): when no
   * snapshot was taken yet, the archive is written while the directory is walked, in memory
   * that does not grow with the number of files, and no snapshot is kept (a later call walks
   * again). Same bytes either way. `imgb context -o` sets it.
   */
  oneShot?: boolean;
  /** Told how the write went (which threads wrote it): `imgb --debug context -o FILE`. */
  onDebug?: (message: string) => void;
}

/** A path, a file descriptor, a web stream, a Bun FileSink (e.g. subprocess stdin) or a Node writable. */
export type ArchiveSink = string | number | WritableStream<Uint8Array> | import("bun").FileSink | NodeJS.WritableStream;

/** Which Docker's ignore semantics to follow: "buildkit" (current Docker) or "legacy" (20.10). */
export type IgnoreDialect = "buildkit" | "legacy";

export interface BuildContextOptions {
  /** Context directory; optional: a context of only extra files is valid. */
  root?: string;
  /** Dockerfile path relative to root (POSIX), default "Dockerfile". */
  dockerfile?: string;
  /** Explicit ignore file; null = none; undefined = `<root>/<dockerfile>.dockerignore`, else `<root>/.dockerignore`. */
  ignoreFile?: string | null;
  /** Which Docker's ignore semantics to follow (default "buildkit": current Docker; see src/context/ignore.ts). */
  ignoreDialect?: IgnoreDialect;
  /** mtime of every entry; default env SOURCE_DATE_EPOCH, else 0. */
  sourceDateEpoch?: number;
  onWarning?: (message: string) => void;
}

/**
 * What a builder receives (and imgb fills with the stack's extra files): the files of one image's build, snapshotted on first use (every
 * method sends the same entries). The one source of truth for the Dockerfile path is
 * `dockerfile` (POSIX, relative to the context root).
 */
export interface ImageBuildContext {
  /** Context directory (absolute), undefined for a context of only extra files. */
  readonly root?: string;
  /** Path of the Dockerfile inside the context (POSIX, relative). */
  readonly dockerfile: string;
  /** Absolute path of the ignore file in use, if any. */
  readonly ignoreFile?: string;
  /** The ignore file's path inside the context, when it lies inside the root. */
  readonly ignoreFilePath?: string;
  /** mtime of every entry, seconds since 1970. */
  readonly sourceDateEpoch: number;
  /** Add a file from disk at `destination` (never filtered by ignore rules; replaces a same-named context file). */
  addFile(source: string, destination: string, mode?: number, location?: Location): this;
  /** Add inline content at `destination` (mode default 0644). */
  addContent(data: string | Uint8Array, destination: string, mode?: number, location?: Location): this;
  /** Add a directory tree from disk at `destination` (not filtered by ignore rules). */
  addDirectory(source: string, destination: string, location?: Location): this;
  /** Forget the snapshot: the next call walks the disk again. */
  refresh(): this;
  /** What will be sent, in archive order. */
  files(): Promise<ContextEntry[]>;
  /**
   * `files()` one entry at a time: entry i is made when `at(i)` asks for it, so a caller that
   * goes through them in turn (a digest) holds one, not all (200,000 entry objects: ~100 MB).
   */
  fileList(): Promise<ContextEntryList>;
  /** The context as a tar (or tar.gz) byte stream. */
  stream(options?: ArchiveOptions): ReadableStream<Uint8Array>;
  /** Write the archive to a path, file descriptor, web stream, FileSink or Node writable. */
  writeArchive(sink: ArchiveSink, options?: ArchiveOptions): Promise<void>;
  /** Materialize the context as a directory (`signal`: cancel; `onDebug`: how the copy was shared). */
  writeDirectory(destination: string, options?: Pick<ArchiveOptions, "signal" | "onDebug">): Promise<void>;
  /** "sha256:<hex>" of the uncompressed archive. */
  checksum(): Promise<string>;
}

/** A build context class as a builder names it in `buildContextClass` (a BuildContext subclass). */
export type BuildContextClass = new (options?: BuildContextOptions) => ImageBuildContext;
