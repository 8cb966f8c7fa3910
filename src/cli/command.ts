/**
 * How a command is declared. Commands are plain objects made with `defineCommand()` (an identity
 * helper for type inference) and loaded lazily by `src/cli/commands.ts`, so `imgb version`
 * imports nothing heavy.
 */
import type { Io } from "./io.ts";

export type OptionType = "string" | "boolean" | "strings";

export interface OptionSpec {
  type: OptionType;
  /** One-letter alias, e.g. `f` for `--file`. */
  short?: string;
  description: string;
  /** Placeholder in help, e.g. `FILE`. */
  value?: string;
  default?: string | boolean;
  /** The values it takes, for help-free shell completion (`--progress` -> auto, tty, plain, json). */
  choices?: readonly string[];
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
  /** The values it takes, for shell completion (`imgb completion SHELL`). */
  choices?: readonly string[];
}

export type OptionValue<T extends OptionType> = T extends "boolean"
  ? boolean
  : T extends "strings"
    ? string[]
    : string | undefined;

export interface ParsedArgs<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  options: { [K in keyof O]: OptionValue<O[K]["type"]> };
  positionals: string[];
}

export interface CommandSpec<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  /** Full name, e.g. `flavor list`. */
  name: string;
  summary: string;
  /** Usage line after `imgb `, e.g. `validate [-f FILE]`. */
  usage: string;
  /** One or more example invocations shown by `--help`. */
  examples: string[];
  options: O;
  positionals?: PositionalSpec[];
  /** Left out of `imgb --help` and of completion: plumbing for the completion scripts. */
  hidden?: boolean;
  run(args: ParsedArgs<O>, io: Io): Promise<number | void>;
}

export function defineCommand<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

/** Options every command understands. */
export const commonOptions = {
  help: { type: "boolean", short: "h", description: "Show help for this command" },
  debug: { type: "boolean", description: "Print stack traces and debug logs" },
} as const satisfies Record<string, OptionSpec>;

/** `--allow`, for every command that reads a stack file (see src/stack/entitlements.ts). */
export const allowOption = {
  allow: {
    type: "strings",
    value: "fs.read=PATH",
    description: "Let the stack read PATH outside its own directory (fs.read=* allows any path)",
  },
} as const satisfies Record<string, OptionSpec>;

/** `-f/--file` and `--allow`, shared by commands that read a stack file. */
export const fileOption = {
  file: {
    type: "string",
    short: "f",
    value: "FILE",
    description: "Stack file (default: imgb.yaml in the current directory)",
  },
  ...allowOption,
} as const satisfies Record<string, OptionSpec>;
