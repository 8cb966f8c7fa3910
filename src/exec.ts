/**
 * The one subprocess wrapper: every engine call goes through `exec()`. argv arrays only (never a
 * shell string), stdin from a string, bytes or a stream, output streamed line by line, a tail of
 * the last lines kept for error messages, cancellation through an AbortSignal, and one error
 * type (`ExecError`) that carries everything needed to reproduce and understand a failure
 * (modelled on execa's final error).
 *
 * Secrets: stdin is never quoted in any message; argv values that must not be shown can be listed
 * in `redact` (argv should not carry secrets in the first place: pass them on stdin). The child
 * inherits only the engine variables of imgb's environment (`_engine_env.ts`), so a password in
 * imgb's environment never reaches an engine.
 */
import type { FileSink } from "bun";
import { engineEnvironment } from "./_engine_env.ts";
import { killDescendants } from "./_process_tree.ts";
import { feedStdin, type FeedOutcome, type StdinFeed } from "./_stdin_feed.ts";
import { CancelledError, ImgbError, RuntimeError } from "./errors.ts";

export type ExecInput = string | Uint8Array | ReadableStream<Uint8Array>;

export interface ExecOptions {
  /**
   * A stream is fed by exec itself and must be read to its end: when it fails (a build context
   * file vanished), the process is killed (SIGKILL, its pipe never closed, so it never sees a
   * clean end of a short input) and exec rejects with the stream's own error, whatever the exit
   * status; a process that exits 0 before reading all of it fails with `exec.stdin-unread`.
   */
  stdin?: ExecInput;
  /**
   * Overrides on top of the inherited environment; `undefined` removes a variable. What is
   * inherited from `process.env` is only the variables engines read (PATH, HOME, locale,
   * DOCKER_HOST…, see `_engine_env.ts`) unless `inheritEnv` is "all".
   */
  env?: Record<string, string | undefined>;
  /**
   * "engine" (default): inherit only the engine allow-list; "all": the whole environment, for a
   * child that needs variables of its own (e.g. a custom flavor's engine). Even then, pass a
   * secret on stdin, never in the environment.
   */
  inheritEnv?: "engine" | "all";
  cwd?: string;
  /** Abort: `killSignal`, then SIGKILL after `killGraceMs`; `exec()` rejects with `CancelledError`. */
  signal?: AbortSignal;
  /**
   * What to send first on abort. Default SIGTERM. The docker CLI cancels a BuildKit build only
   * on SIGINT (it ignores SIGTERM and lets the build finish).
   */
  killSignal?: NodeJS.Signals;
  /**
   * Send `killSignal` again every N ms until the process exits. The docker 20.10 CLI swallows a
   * SIGINT that arrives while a BuildKit build is starting, and forces its way out on the third.
   */
  killRepeatMs?: number;
  /**
   * On abort, stop the descendants first (SIGKILL), then the process itself only if it is still
   * running after a moment; whatever it forks meanwhile is killed too. For podman and buildah:
   * killed themselves they leave the RUN step's process running and their working container
   * behind; with the step's process killed they fail the step, remove the container and exit.
   */
  killTree?: boolean;
  /** Milliseconds between SIGTERM and SIGKILL. Default 10 s (engines clean up on SIGTERM). */
  killGraceMs?: number;
  onStdout?(line: string): void;
  onStderr?(line: string): void;
  /** Lines of output (stdout and stderr, in arrival order) kept for errors. Default 20. */
  tailLines?: number;
  /** Values replaced by `***` wherever the command is shown, and never inherited in the environment. */
  redact?: readonly string[];
  /** Shown when the binary is missing, e.g. `Install it: apt-get install docker.io`. */
  installHint?: string;
}

export interface ExecResult {
  /** Full stdout, trimmed of one trailing newline (capped at `MAX_CAPTURE` bytes, keeping the end). */
  stdout: string;
  stderr: string;
  /** The last lines of stdout and stderr, interleaved in arrival order. */
  tail: string[];
  durationMs: number;
}

const MAX_CAPTURE = 4 * 1024 * 1024;

export interface ExecFailure {
  argv: readonly string[];
  redact?: readonly string[];
  exitCode?: number;
  signal?: string;
  durationMs: number;
  tail: string[];
  stdout?: string;
  stderr?: string;
}

/** A subprocess that could not start or failed. `message` = `shortMessage` + the output tail. */
export class ExecError extends RuntimeError {
  /** The command, shell-quoted and copy-pasteable (redacted values shown as `***`). */
  readonly command: string;
  /** The command's exit status (`exitCode` is imgb's own process exit code, see ImgbError). */
  readonly exitStatus?: number;
  readonly signal?: string;
  readonly durationMs: number;
  /** The last lines of output; engines print build failures on stdout as often as on stderr. */
  readonly tail: readonly string[];
  readonly stdout: string;
  readonly stderr: string;
  /** First line only: what failed, without the output. */
  readonly shortMessage: string;
  private readonly failure: ExecFailure;

  constructor(failure: ExecFailure, options: { code?: string; message?: string; hint?: string; cause?: unknown } = {}) {
    const command = quoteCommand(failure.argv, failure.redact);
    const short = options.message ?? defaultMessage(failure, command);
    const tail = failure.tail.length > 0 ? `\n${failure.tail.map((l) => `  ${l}`).join("\n")}` : "";
    super(options.code ?? "exec.failed", `${short}${tail}`, { hint: options.hint, cause: options.cause });
    this.command = command;
    if (failure.exitCode !== undefined) this.exitStatus = failure.exitCode;
    if (failure.signal !== undefined) this.signal = failure.signal;
    this.durationMs = failure.durationMs;
    this.tail = failure.tail;
    this.stdout = failure.stdout ?? "";
    this.stderr = failure.stderr ?? "";
    this.shortMessage = short;
    this.failure = failure;
  }

  /**
   * The same failure under another headline, e.g. "Build of image 'app' failed: …"; `tail`, when
   * given, replaces the output lines the message keeps (the ones that explain the failure).
   */
  reframe(code: string, message: string, hint?: string, tail?: readonly string[]): ExecError {
    const failure = tail === undefined ? this.failure : { ...this.failure, tail: [...tail] };
    return new ExecError(failure, { code, message, hint: hint ?? this.hint, cause: this });
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), command: this.command, exitStatus: this.exitStatus, signal: this.signal, durationMs: this.durationMs };
  }
}

function defaultMessage(f: ExecFailure, command: string): string {
  const how = f.signal ? `was killed by ${f.signal}` : `failed with exit code ${f.exitCode}`;
  return `Command ${how} after ${formatDuration(f.durationMs)}: ${command}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** `text` with every non-empty value of `redact` replaced by `***`. */
export function redactText(text: string, redact: readonly string[] = []): string {
  let out = text;
  for (const s of redact) if (s.length > 0) out = out.split(s).join("***");
  return out;
}

/** POSIX shell quoting: `docker build -t 'a b' -` can be pasted into a terminal as is. */
export function quoteCommand(argv: readonly string[], redact: readonly string[] = []): string {
  const secrets = redact.filter((s) => s.length > 0);
  return argv
    .map((arg) => {
      let shown = arg;
      for (const s of secrets) shown = shown.split(s).join("***");
      return /^[A-Za-z0-9_@%+=:,./-]+$/.test(shown) ? shown : `'${shown.replaceAll("'", `'\\''`)}'`;
    })
    .join(" ");
}

/**
 * Splits a byte stream into lines (\n, \r\n or a bare \r as progress bars use). Returns a reader
 * handle so the caller can stop reading when a grandchild keeps the pipe open after the child
 * exited.
 */
function pumpLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void, capture: { text: string }) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  const emit = (chunk: string, flush: boolean) => {
    pending += chunk;
    capture.text += chunk;
    if (capture.text.length > MAX_CAPTURE) capture.text = capture.text.slice(-MAX_CAPTURE);
    const parts = pending.split(/\r?\n|\r/);
    pending = parts.pop() ?? "";
    if (flush && pending !== "") parts.push(pending);
    for (const line of parts) onLine(line);
  };
  const done = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        emit(decoder.decode(value, { stream: true }), false);
      }
    } catch {
      // Cancelled by `abandon()`: what was read so far has been emitted.
    }
    emit(decoder.decode(), true);
  })();
  return { done, abandon: () => void reader.cancel().catch(() => {}) };
}

/** With `killTree`: how long the process may take to exit on its own once its children are gone. */
const TREE_FIRST_MS = 3000;

/** With `killTree`, once aborted: how often what the process forked since is looked for and killed. */
const TREE_POLL_MS = 50;

/** How long the pipes may stay open after the child exited (a grandchild holding them). */
const DRAIN_MS = 2000;

export async function exec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0 || !argv[0]) throw new RuntimeError("exec.empty", "Cannot run an empty command");
  const { signal } = options;
  if (signal?.aborted) throw new CancelledError();
  const started = performance.now();
  const tailMax = options.tailLines ?? 20;
  const tail: string[] = [];
  const remember = (line: string) => {
    if (line.trim() === "") return;
    tail.push(line);
    if (tail.length > tailMax) tail.shift();
  };

  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn([...argv], {
      stdin: toStdin(options.stdin),
      stdout: "pipe",
      stderr: "pipe",
      env: childEnv(options),
      cwd: options.cwd,
    });
  } catch (e) {
    throw spawnError(e, argv, options, performance.now() - started);
  }

  const feed = options.stdin instanceof ReadableStream ? feedStdin(options.stdin, proc.stdin as FileSink) : undefined;
  let streamError: unknown;
  feed?.onSourceFailure((error) => {
    if (signal?.aborted) return; // the abort below stops the process the engine's own way
    streamError = error;
    // Hard and at once: a polite signal may be ignored while the process keeps reading stdin.
    if (options.killTree) killDescendants(proc.pid, { rootSignal: "SIGKILL" });
    else proc.kill("SIGKILL");
  });

  let cancelled = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let repeatTimer: ReturnType<typeof setInterval> | undefined;
  let treeTimer: ReturnType<typeof setInterval> | undefined;
  // Not yet reaped: its PID is still its own (and the root of its tree).
  const running = () => proc.exitCode === null && proc.signalCode === null;
  // With killTree, the process gets its signal while its tree is frozen and emptied: no child it
  // forks at that moment outlives it.
  const send = (sig: NodeJS.Signals) => {
    if (!running()) return;
    if (options.killTree) killDescendants(proc.pid, { rootSignal: sig });
    else proc.kill(sig);
  };
  const onAbort = () => {
    cancelled = true;
    const stopParent = () => {
      const first = options.killSignal ?? "SIGTERM";
      send(first);
      if (options.killRepeatMs) repeatTimer = setInterval(() => send(first), options.killRepeatMs);
      killTimer = setTimeout(() => send("SIGKILL"), options.killGraceMs ?? 10_000);
    };
    if (!options.killTree) return stopParent();
    // Frozen and killed at once (killDescendants: a process forking meanwhile is not missed);
    // PIDs are never signalled later, when they could belong to someone else. The process may
    // carry on without its children (podman, its user lookup helper killed, goes on to the RUN
    // step): whatever it starts from now on is killed too, every TREE_POLL_MS, until it exits.
    const tree = killDescendants(proc.pid);
    treeTimer = setInterval(() => running() && killDescendants(proc.pid), TREE_POLL_MS);
    killTimer = setTimeout(stopParent, tree.length > 0 ? TREE_FIRST_MS : 0);
  };
  signal?.addEventListener("abort", onAbort, { once: true });

  const out = { text: "" };
  const err = { text: "" };
  // A redacted value an engine prints (a RUN step that echoes a build secret) is `***` in every
  // log line and error tail; only a successful call's own stdout, which callers parse, is left whole.
  const scrub = (l: string) => redactText(l, options.redact);
  try {
    const pumps = [
      pumpLines(proc.stdout as ReadableStream<Uint8Array>, (l) => ((l = scrub(l)), remember(l), options.onStdout?.(l)), out),
      pumpLines(proc.stderr as ReadableStream<Uint8Array>, (l) => ((l = scrub(l)), remember(l), options.onStderr?.(l)), err),
    ];
    const exitCode = await proc.exited;
    const drained = Promise.all(pumps.map((p) => p.done));
    let drainTimer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([drained, new Promise<void>((r) => (drainTimer = setTimeout(r, DRAIN_MS)))]);
    clearTimeout(drainTimer);
    for (const p of pumps) p.abandon();
    await drained;
    const fed = feed ? await settleFeed(feed) : undefined;
    const durationMs = performance.now() - started;
    if (cancelled) throw new CancelledError(`Interrupted: stopped ${quoteCommand([argv[0]!])} after ${formatDuration(durationMs)}`);
    const stdout = out.text.replace(/\r?\n$/, "");
    const stderr = err.text.replace(/\r?\n$/, "");
    // The input's own failure wins over the exit status: an engine may well "succeed" on a cut context.
    const failedInput = streamError ?? (fed?.kind === "source-failed" ? fed.error : undefined);
    if (failedInput !== undefined) throw inputError(failedInput, argv, options);
    if (exitCode === 0 && !proc.signalCode && fed?.kind === "unread") {
      throw new ExecError(
        { argv, redact: options.redact, durationMs, tail, stdout, stderr, exitCode },
        { code: "exec.stdin-unread", message: `Command exited before reading all of its input (${fed.bytes} bytes taken): ${quoteCommand(argv, options.redact)}` },
      );
    }
    if (exitCode !== 0 || proc.signalCode) {
      throw new ExecError({
        argv, redact: options.redact, durationMs, tail, stdout: scrub(stdout), stderr: scrub(stderr),
        exitCode: proc.signalCode ? undefined : exitCode,
        signal: proc.signalCode ? String(proc.signalCode) : undefined,
      });
    }
    return { stdout, stderr, tail, durationMs };
  } finally {
    if (feed) await feed.stop(); // idempotent; here for a throw before the feed was settled
    signal?.removeEventListener("abort", onAbort);
    if (killTimer) clearTimeout(killTimer);
    if (repeatTimer) clearInterval(repeatTimer);
    if (treeTimer) clearInterval(treeTimer);
  }
}

function toStdin(input: ExecInput | undefined) {
  if (input === undefined) return "ignore" as const;
  if (typeof input === "string") return new TextEncoder().encode(input);
  if (input instanceof ReadableStream) return "pipe" as const; // fed by feedStdin
  return input;
}

/**
 * The feed's end once the process is gone. A grandchild may hold the pipe open without reading:
 * after DRAIN_MS the feed is stopped and counts as unread.
 */
async function settleFeed(feed: StdinFeed): Promise<FeedOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), DRAIN_MS)));
  const outcome = await Promise.race([feed.outcome, late]);
  clearTimeout(timer);
  await feed.stop();
  return outcome ?? { kind: "unread", bytes: 0 };
}

/** The stream's own error (an ImgbError such as `context.changed` as is), else one naming the command. */
function inputError(e: unknown, argv: readonly string[], options: ExecOptions): ImgbError {
  if (e instanceof ImgbError) return e;
  const reason = e instanceof Error ? e.message : String(e);
  return new RuntimeError("exec.stdin-failed", `The input of ${quoteCommand(argv, options.redact)} failed: ${reason}`, { cause: e });
}

function childEnv(options: ExecOptions): Record<string, string> {
  if (options.inheritEnv !== "all") return engineEnvironment(process.env, options.env, options.redact);
  // The whole environment, but `redact` holds here too: an inherited variable holding a secret stays out.
  const hidden = (options.redact ?? []).filter((r) => r.length > 0);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !hidden.some((h) => v.includes(h))) env[k] = v;
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function spawnError(e: unknown, argv: readonly string[], options: ExecOptions, durationMs: number): RuntimeError {
  const code = (e as { code?: string }).code;
  const bin = quoteCommand([argv[0]!]);
  if (code === "ENOENT") {
    return new ExecError(
      { argv, redact: options.redact, durationMs, tail: [] },
      { code: "exec.not-found", message: `Binary ${JSON.stringify(argv[0])} not found: not on PATH or no such file`, hint: options.installHint, cause: e },
    );
  }
  if (code === "EACCES") {
    return new ExecError(
      { argv, redact: options.redact, durationMs, tail: [] },
      { code: "exec.not-executable", message: `Binary ${JSON.stringify(argv[0])} is not executable: permission denied`, hint: `Check the file mode of ${bin}`, cause: e },
    );
  }
  const reason = e instanceof Error ? e.message : String(e);
  return new ExecError({ argv, redact: options.redact, durationMs, tail: [] }, { code: "exec.spawn", message: `Could not start ${bin}: ${reason}`, cause: e });
}
