/**
 * The one entry point: parse argv, run one command, map every error to an exit code.
 * Only this file prints errors and calls process.exit.
 */
import { CancelledError, ExitCode, ImgbError, InputErrors, UsageError, formatLocation } from "./errors.ts";
import { parseArgs } from "./cli/args.ts";
import { commonOptions, type CommandSpec } from "./cli/command.ts";
import { commands, findCommand, groupNames } from "./cli/commands.ts";
import { closest } from "./suggest.ts";
import { colorEnabled, errJson, jsonLine, messageObject, paint, wantsJsonStderr, type Io } from "./cli/io.ts";

async function main(argv: string[]): Promise<number> {
  const controller = new AbortController();
  const debug = argv.includes("--debug");
  // `--progress json`: every stderr line is a JSON object, messages and errors included.
  const jsonStderr = wantsJsonStderr(argv);
  const color = !jsonStderr && colorEnabled(process.env, process.stderr.isTTY === true);
  const io: Io = {
    out: (t) => void process.stdout.write(t),
    err: (l) => void process.stderr.write(jsonStderr ? jsonLine(messageObject(l)) : l.endsWith("\n") ? l : `${l}\n`),
    errRaw: (t) => void process.stderr.write(t),
    debug: (l) => debug && void process.stderr.write(jsonStderr ? jsonLine({ type: "debug", message: l }) : `debug: ${l}\n`),
    color,
    isDebug: debug,
    signal: controller.signal,
    env: process.env,
    cwd: process.cwd(),
    jsonStderr,
  };
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++interrupts > 1) process.exit(ExitCode.interrupted);
    io.err(`imgb: ${sig === "SIGINT" ? "interrupted" : "terminated"}, stopping (again to force)`);
    controller.abort(new CancelledError(sig === "SIGINT" ? "Interrupted" : "Terminated"));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let spec: CommandSpec | undefined;
  try {
    if (argv[0] === "--version" || argv[0] === "-V") argv = ["version", ...argv.slice(1)];
    if (argv[0] === "help") {
      io.out(await helpFor(argv.slice(1).filter((a) => a !== "--help" && a !== "-h")));
      return ExitCode.ok;
    }
    const found = findCommand(argv);
    if (!found) {
      const [first] = argv;
      if (first === undefined || first === "--help" || first === "-h") {
        io.out((await import("./cli/help.ts")).mainHelp(await loadAll()));
        return first === undefined ? ExitCode.usage : ExitCode.ok;
      }
      if (groupNames().includes(first)) {
        if (argv[1] === "--help" || argv[1] === "-h") {
          io.out(await helpFor([first]));
          return ExitCode.ok;
        }
        const sub = Object.keys(commands).filter((n) => n.startsWith(`${first} `));
        throw new UsageError("cli.missing-subcommand", `'imgb ${first}' needs a subcommand: ${sub.map((s) => s.split(" ")[1]).join(", ")}`, { hint: `imgb ${first} --help` });
      }
      throw unknownCommand(argv);
    }
    spec = (await commands[found.name]!()).default;
    const options = { ...commonOptions, ...spec.options };
    const args = parseArgs(found.rest, options, spec.name);
    if (args.options.help) {
      io.out((await import("./cli/help.ts")).commandHelp(spec));
      return ExitCode.ok;
    }
    checkPositionals(spec, args.positionals);
    const code = await spec.run(args, io);
    return typeof code === "number" ? code : ExitCode.ok;
  } catch (e) {
    return report(e, io, spec);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

function checkPositionals(spec: CommandSpec, given: string[]): void {
  const declared = spec.positionals ?? [];
  const required = declared.filter((p) => p.required).length;
  const variadic = declared.some((p) => p.variadic);
  if (given.length < required) {
    throw new UsageError("cli.missing-argument", `Missing argument ${declared[given.length]!.name} for 'imgb ${spec.name}'`);
  }
  if (!variadic && given.length > declared.length) {
    throw new UsageError("cli.extra-argument", `Unexpected argument '${given[declared.length]}' for 'imgb ${spec.name}'`);
  }
}

/** `imgb help [COMMAND…]`: the main help, a group's (`help flavor`) or a command's (`help flavor list`). */
async function helpFor(words: string[]): Promise<string> {
  const help = await import("./cli/help.ts");
  if (words.length === 0) return help.mainHelp(await loadAll());
  const found = findCommand(words);
  if (found && found.rest.length === 0) return help.commandHelp((await commands[found.name]!()).default);
  if (words.length === 1 && groupNames().includes(words[0]!)) {
    const names = Object.keys(commands).filter((n) => n.startsWith(`${words[0]} `));
    return help.groupHelp(words[0]!, await Promise.all(names.map(async (n) => (await commands[n]!()).default as CommandSpec)));
  }
  throw unknownCommand(words);
}

function unknownCommand(words: readonly string[]): UsageError {
  const group = groupNames().includes(words[0]!) ? words[0] : undefined;
  const candidates = Object.keys(commands).filter((n) => (group ? n.startsWith(`${group} `) : true)).map((n) => (group ? n : n.split(" ")[0]!));
  const asked = group ? words.slice(0, 2).join(" ") : words[0]!;
  const guess = closest(asked, new Set(candidates));
  return new UsageError("cli.unknown-command", `Unknown command '${asked}'`, { hint: guess ? `did you mean 'imgb ${guess}'?` : "imgb --help lists the commands" });
}

/** The commands `imgb --help` lists (not the hidden plumbing of the completion scripts). */
async function loadAll(): Promise<CommandSpec[]> {
  return (await Promise.all(Object.values(commands).map(async (load) => (await load()).default as CommandSpec))).filter((c) => !c.hidden);
}

function report(e: unknown, io: Io, spec: CommandSpec | undefined): number {
  if (io.jsonStderr) reportJson(e, io);
  else reportText(e, io, spec);
  if (e instanceof ImgbError) return e.exitCode;
  if (io.signal.aborted) return ExitCode.interrupted;
  return ExitCode.failure;
}

/** `--progress json`: one `{"type":"error",…}` object per error (each error of a stack file). */
function reportJson(e: unknown, io: Io): void {
  const stack = io.isDebug && e instanceof Error && e.stack ? { stack: e.stack } : {};
  if (e instanceof InputErrors) {
    for (const err of e.errors) errJson(io, { type: "error", exitCode: e.exitCode, ...err.toJSON() });
    if (e.total > e.errors.length) errJson(io, { type: "info", message: `... and ${e.total - e.errors.length} more errors` });
  } else if (e instanceof ImgbError) {
    errJson(io, { type: "error", exitCode: e.exitCode, ...e.toJSON(), ...stack });
  } else {
    errJson(io, { type: "error", exitCode: ExitCode.failure, code: "internal", message: `internal error: ${e instanceof Error ? e.message : String(e)}`, hint: "this is a bug in imgb; rerun with --debug for the stack trace", ...stack });
  }
}

function reportText(e: unknown, io: Io, spec: CommandSpec | undefined): void {
  const p = paint(io.color);
  const label = p.red(p.bold("error:"));
  const line = (err: ImgbError) => {
    const where = formatLocation(err.location);
    const path = err.location?.path ? ` (at ${err.location.path})` : "";
    const hint = err.hint ? p.dim(` (hint: ${err.hint})`) : "";
    return `${where ? `${where}: ` : ""}${label} ${err.message}${path}${hint}`;
  };
  if (e instanceof InputErrors) {
    for (const err of e.errors) io.err(line(err));
    if (e.total > e.errors.length) io.err(`... and ${e.total - e.errors.length} more errors`);
    else if (e.total > 1) io.err(`${e.total} errors`);
  } else if (e instanceof ImgbError) {
    io.err(line(e));
    if (e instanceof UsageError && spec) io.err(`usage: imgb ${spec.usage}`);
  } else {
    io.err(`${label} internal error: ${e instanceof Error ? e.message : String(e)} ${p.dim("(this is a bug in imgb; rerun with --debug for the stack trace)")}`);
  }
  if (io.isDebug && e instanceof Error && e.stack) io.err(e.stack);
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
