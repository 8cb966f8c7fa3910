/** Loading the stack for a command: the one place the CLI wires the loader to the registry. */
import { FlavorRegistry } from "../registry/flavor_registry.ts";
import { loadStack } from "../stack/load.ts";
import type { ResolvedStack } from "../stack/model.ts";
import type { Io } from "./io.ts";

export async function loadStackForCommand(file: string | undefined, io: Io): Promise<{ stack: ResolvedStack; registry: FlavorRegistry }> {
  const registry = FlavorRegistry.withBuiltins();
  const stack = await loadStack(file, { env: io.env, cwd: io.cwd, registry });
  return { stack, registry };
}
