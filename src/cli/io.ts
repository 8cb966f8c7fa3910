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
