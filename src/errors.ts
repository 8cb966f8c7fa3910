/**
 * The error family of imgb. Library code throws these; only `src/main.ts` prints them and
 * turns them into exit codes. Each error carries a stable `code`, a sentence-case message,
 * an optional location (file:line:col and/or JSON path) and an optional hint.
 */

/** Exit codes, documented in README.md. */
export const ExitCode = {
  ok: 0,
  /** A build or another runtime operation failed. */
  failure: 1,
  /** Bad usage or invalid input (stack file, flavor file, arguments). */
  usage: 2,
  /** Interrupted by SIGINT/SIGTERM. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Where something is wrong: a position in a file and/or a JSON path inside a document. */
export interface Location {
  file?: string;
  /** 1-based. */
  line?: number;
  /** 1-based. */
  col?: number;
  /** JSON pointer-like path, e.g. `/images/app/dockerfile`. */
  path?: string;
}

export function formatLocation(loc: Location | undefined): string {
  if (!loc) return "";
  let out = loc.file ?? "";
  if (loc.line !== undefined) {
    out += `${out ? ":" : ""}${loc.line}`;
    if (loc.col !== undefined) out += `:${loc.col}`;
  }
  return out;
}

export interface ImgbErrorOptions {
  location?: Location;
  hint?: string;
  cause?: unknown;
}

/** Base class: every error imgb reports on purpose is one of these. */
export class ImgbError extends Error {
  /** Stable machine-readable code, e.g. `stack.unknown-key`. */
  readonly code: string;
  readonly location?: Location;
  readonly hint?: string;
  readonly exitCode: ExitCode = ExitCode.failure;

  constructor(code: string, message: string, options: ImgbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.location) this.location = options.location;
    if (options.hint) this.hint = options.hint;
  }

  /** One line: `file:line:col: message (at /json/path)`. The hint is rendered separately. */
  describe(): string {
    const where = formatLocation(this.location);
    const path = this.location?.path && this.location.path !== "" ? ` (at ${this.location.path})` : "";
    return `${where ? `${where}: ` : ""}${this.message}${path}`;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, location: this.location, hint: this.hint };
  }
}

/** Invalid input: stack files, flavor files, ignore files, command-line values. Exit code 2. */
export class InputError extends ImgbError {
  override readonly exitCode: ExitCode = ExitCode.usage;
}

/** Wrong command-line usage. Exit code 2; main prints the command's usage line. */
export class UsageError extends InputError {}

/** Several input errors of one file, reported together. */
export class InputErrors extends InputError {
  readonly errors: readonly InputError[];
  /** How many errors were found in all (may exceed `errors.length` when capped). */
  readonly total: number;

  constructor(errors: readonly InputError[], total = errors.length) {
    const first = errors[0];
    super(first?.code ?? "input.invalid", `${total} error${total === 1 ? "" : "s"} found`, {
      location: first?.location?.file ? { file: first.location.file } : undefined,
    });
    this.errors = errors;
    this.total = total;
  }
}

/** A runtime failure: an engine that failed, a registry that refused, a file that vanished. */
export class RuntimeError extends ImgbError {}

/** The operation was cancelled (SIGINT, SIGTERM, AbortSignal). Exit code 130. */
export class CancelledError extends ImgbError {
  override readonly exitCode: ExitCode = ExitCode.interrupted;
  constructor(message = "Interrupted") {
    super("cancelled", message);
  }
}

/** errno codes that mean "this file system takes no more": full, over quota, read-only. */
const DISK_CODES: Record<string, string> = { ENOSPC: "no space left on the device", EDQUOT: "the disk quota is exhausted", EROFS: "the file system is read-only" };

/** True for an error of writing to a full, over-quota or read-only file system. */
export function isDiskFull(e: unknown): boolean {
  return typeof (e as NodeJS.ErrnoException | undefined)?.code === "string" && (e as NodeJS.ErrnoException).code! in DISK_CODES;
}

/**
 * A failed write as one RuntimeError naming what and where: `what` says what was written
 * ("an image layer"), `path` the file. ENOSPC, EDQUOT and EROFS say so plainly with a hint;
 * other errors keep their own message. An ImgbError passes through unchanged.
 */
export function writeError(e: unknown, what: string, path: string): ImgbError {
  if (e instanceof ImgbError) return e;
  const err = e as NodeJS.ErrnoException;
  if (isDiskFull(e)) {
    const tmp = /(^|\/)imgb-[a-z]+-[^/]+\//.test(path) ? " (TMPDIR=… puts imgb's temporary files elsewhere)" : "";
    return new RuntimeError("io.disk-full", `Cannot write ${what} '${path}': ${DISK_CODES[err.code!]} (${err.code})`, { cause: e, hint: `free space on that file system or write elsewhere${tmp}` });
  }
  return new RuntimeError("io.write", `Cannot write ${what} '${path}': ${err?.message ?? String(e)}`, { cause: e });
}
