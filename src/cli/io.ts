/**
 * The command's view of the terminal: stdout for results only, stderr for everything else.
 * Colour is on only when stderr is a TTY and NO_COLOR is unset or empty.
 */
export interface Io {
  /** Write a result (an image reference, JSON) to stdout. */
  out(text: string | Uint8Array): void;
  /** Write a message line to stderr. */
  err(line: string): void;
  /** Write text to stderr as it is (live progress redraws its lines in place). */
  errRaw(text: string): void;
  /** Debug line to stderr, shown only with --debug. */
  debug(line: string): void;
  readonly color: boolean;
  readonly isDebug: boolean;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  /**
   * `--progress json`: every stderr line is one JSON object. `err()` then wraps each message
   * line in one (`{"type":"warning"|"info","message":…}`); structured output uses `errJson()`.
   */
  readonly jsonStderr?: boolean;
}

/** One stderr line of `--progress json`: the object, timestamped like the build events. */
export function jsonLine(object: Record<string, unknown>): string {
  return `${JSON.stringify({ time: new Date().toISOString(), ...object })}\n`;
}

/** One JSON object on stderr, as it is (never wrapped again). */
export function errJson(io: Io, object: Record<string, unknown>): void {
  io.errRaw(jsonLine(object));
}

/** What `err()` writes in JSON mode for a message line: `warning: x` is a warning, the rest info. */
export function messageObject(line: string): Record<string, unknown> {
  const text = line.replace(/\n$/, "");
  const warning = /^warning: /.exec(text);
  return warning ? { type: "warning", message: text.slice(warning[0].length) } : { type: "info", message: text };
}

/**
 * True when argv asks for `--progress json` (before any `--`): decided before the arguments are
 * parsed, so that a usage error of the same command line is JSON too.
 */
export function wantsJsonStderr(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") return false;
    if (argv[i] === "--progress=json" || (argv[i] === "--progress" && argv[i + 1] === "json")) return true;
  }
  return false;
}

export function colorEnabled(env: Record<string, string | undefined>, isTty: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "" && env.FORCE_COLOR !== "0") return true;
  return isTty;
}

export interface Paint {
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
  green(s: string): string;
}

export function paint(enabled: boolean): Paint {
  const wrap = (open: number, close: number) => (s: string) => (enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}
