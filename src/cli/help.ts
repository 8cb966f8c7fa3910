/** Help text derived from the command specs: nothing here is written twice. */
import type { CommandSpec } from "./command.ts";

export function commandHelp(spec: CommandSpec): string {
  const lines = [spec.summary, "", `Usage: imgb ${spec.usage}`];
  if (spec.positionals?.length) {
    lines.push("", "Arguments:");
    for (const p of spec.positionals) lines.push(`  ${(p.variadic ? `${p.name}...` : p.name).padEnd(24)} ${p.description}`);
  }
  const opts = Object.entries(spec.options);
  if (opts.length) {
    lines.push("", "Options:");
    for (const [name, o] of opts) {
      const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.type === "boolean" ? "" : ` ${o.value ?? "VALUE"}`}`;
      lines.push(`  ${flag.padEnd(28)} ${o.description}${o.type === "strings" ? " (repeatable)" : ""}`);
    }
  }
  lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  return lines.join("\n") + "\n";
}

/** `imgb flavor --help`: the subcommands of a command group, each with its usage. */
export function groupHelp(group: string, commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length - group.length - 1)) + 2;
  return [
    `imgb ${group}: ${commands.length} subcommands.`,
    "",
    `Usage: imgb ${group} SUBCOMMAND [OPTIONS]`,
    "",
    "Subcommands:",
    ...commands.map((c) => `  ${c.name.slice(group.length + 1).padEnd(width)} ${c.summary}`),
    "",
    `Run 'imgb ${group} SUBCOMMAND --help' (or 'imgb help ${group} SUBCOMMAND') for its options and examples.`,
    "",
  ].join("\n");
}

export function mainHelp(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    "imgb: build container images from a declarative stack file.",
    "",
    "Usage: imgb COMMAND [OPTIONS]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`),
    "",
    "Global options: --help, --debug (stack traces), --version.",
    "Exit codes: 0 ok, 1 build or runtime failure, 2 usage or invalid input, 130 interrupted.",
    "Run 'imgb COMMAND --help' or 'imgb help COMMAND' for a command's options and examples.",
    "Shell completion: 'source <(imgb completion bash)' (also zsh, fish).",
    "",
  ].join("\n");
}
