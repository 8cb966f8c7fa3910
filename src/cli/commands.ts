/**
 * Every command, by name, loaded lazily: `imgb version` must not pay for YAML or TypeBox.
 * This table is the one place a command is listed.
 */
import type { CommandSpec } from "./command.ts";

type Loader = () => Promise<{ default: CommandSpec<any> }>;

export const commands: Record<string, Loader> = {
  build: () => import("./build.ts"),
  validate: () => import("./validate.ts"),
  print: () => import("./print.ts"),
  builders: () => import("./builders.ts"),
  context: () => import("./context.ts"),
  schema: () => import("./schema.ts"),
  "flavor list": () => import("./flavor_list.ts"),
  "flavor describe": () => import("./flavor_describe.ts"),
  "flavor register": () => import("./flavor_register.ts"),
  "flavor init": () => import("./flavor_init.ts"),
  "flavor types": () => import("./flavor_types.ts"),
  "flavor remove": () => import("./flavor_remove.ts"),
  "reuse list": () => import("./reuse_list.ts"),
  "reuse prune": () => import("./reuse_prune.ts"),
  version: () => import("./version.ts"),
  completion: () => import("./completion.ts"),
  "__complete images": () => import("./complete_images.ts"),
};

/** Finds the longest command name at the start of argv (`flavor list …`). */
export function findCommand(argv: readonly string[]): { name: string; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(" ");
    if (argv.length >= words && name in commands) return { name, rest: argv.slice(words) };
  }
  return undefined;
}

export function groupNames(): string[] {
  return [...new Set(Object.keys(commands).filter((n) => n.includes(" ")).map((n) => n.split(" ")[0]!))];
}
