/**
 * A small, strict argv parser: long options (`--file x`, `--file=x`), short aliases (`-f x`),
 * booleans, repeatable string lists, `--` to end options. Unknown options are usage errors, and
 * so is a separate value that looks like an option (`-o --list`): write it inline (`-o=--list`).
 */
import { UsageError } from "../errors.ts";
import { closest } from "../suggest.ts";
import type { OptionSpec, ParsedArgs } from "./command.ts";

export function parseArgs<O extends Record<string, OptionSpec>>(argv: readonly string[], options: O, command: string): ParsedArgs<O> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(options)) {
    values[name] = spec.type === "boolean" ? (spec.default ?? false) : spec.type === "strings" ? [] : spec.default;
  }
  const byShort = new Map(Object.entries(options).filter(([, s]) => s.short).map(([n, s]) => [s.short!, n]));
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else {
      const short = arg.slice(1, 2);
      const mapped = byShort.get(short);
      if (!mapped) throw unknown(arg, command, options);
      name = mapped;
      inline = arg.length > 2 ? arg.slice(2).replace(/^=/, "") : undefined;
    }
    const spec = options[name];
    if (!spec) {
      if (name.startsWith("no-") && options[name.slice(3)]?.type === "boolean" && inline === undefined) {
        values[name.slice(3)] = false;
        continue;
      }
      throw unknown(arg, command, options);
    }
    if (spec.type === "boolean") {
      if (inline !== undefined && !["true", "false"].includes(inline)) {
        throw new UsageError("cli.bad-value", `Option '--${name}' takes no value, got '${inline}'`, { hint: `imgb ${command} --help` });
      }
      values[name] = inline === undefined ? true : inline === "true";
      continue;
    }
    let value = inline;
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw new UsageError("cli.missing-value", `Option '--${name}' needs a value${spec.value ? ` (${spec.value})` : ""}`, { hint: `imgb ${command} --help` });
      // `-o --list` is a forgotten value far more often than a file named `--list`; taking it
      // would swallow the flag and act on a name the user never meant.
      if (value.startsWith("-") && value !== "-") {
        throw new UsageError("cli.missing-value", `Option '--${name}' needs a value${spec.value ? ` (${spec.value})` : ""}, got the option '${value}'`, {
          hint: `a value that starts with '-' is written '--${name}=${value}'`,
        });
      }
    }
    if (spec.type === "strings") (values[name] as string[]).push(value);
    else values[name] = value;
  }
  return { options: values as ParsedArgs<O>["options"], positionals };
}

function unknown(arg: string, command: string, options: Record<string, OptionSpec>): UsageError {
  const names = Object.keys(options).map((n) => `--${n}`);
  const name = arg.split("=")[0]!;
  const guess = names.find((n) => n.startsWith(name) || name.startsWith(n)) ?? closest(name, names);
  return new UsageError("cli.unknown-option", `Unknown option '${name}' for 'imgb ${command}'`, {
    hint: guess ? `did you mean '${guess}'?` : `see 'imgb ${command} --help'`,
  });
}
