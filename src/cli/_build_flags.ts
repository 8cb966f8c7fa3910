/**
 * The `docker build` habits of `imgb build`: `--no-cache`, `--pull` and `--platform` are
 * shorthands for `--set '*.no_cache=true'`, `'*.pull=true'` and `'*.platforms=…'` (so the stack
 * schema checks them like the file's values, and an explicit `--set` after them still wins);
 * `--push` and `--load` say where the images go: the stack's registry, or only the local engine
 * even when the stack names a registry.
 */
import type { AnyFlavor } from "../builder/flavor.ts";
import { UsageError } from "../errors.ts";
import type { ResolvedStack } from "../stack/model.ts";
import { ImageSchema } from "../stack/schema.ts";
import type { OptionSpec } from "./command.ts";

export const buildFlagOptions = {
  push: { type: "boolean", description: "Push to the stack's container_registry (the default when it has one; an error when it has none)" },
  load: { type: "boolean", description: "Build into the local engine only, even when the stack has a container_registry (nothing is pushed)" },
  "no-cache": { type: "boolean", description: "Build every image without the engine's cache and without reuse (--set '*.no_cache=true')" },
  pull: { type: "boolean", description: "Always try to pull newer base images (--set '*.pull=true')" },
  platform: { type: "strings", value: "OS/ARCH,…", description: "Target platforms of every image, comma-separated (--set '*.platforms=…')" },
} as const satisfies Record<string, OptionSpec>;

interface BuildFlags {
  push: boolean;
  load: boolean;
  "no-cache": boolean;
  pull: boolean;
  platform: readonly string[];
}

/** The `--set` overrides the flags stand for, in the order `--set` applies them. */
export function buildFlagOverrides(flags: BuildFlags): string[] {
  if (flags.push && flags.load) throw new UsageError("cli.push-load", "Use either --push or --load, not both", { hint: "--load builds into the local engine only; --push pushes to the stack's registry" });
  const out: string[] = [];
  if (flags["no-cache"]) out.push("*.no_cache=true");
  if (flags.pull) out.push("*.pull=true");
  if (flags.platform.length > 0) {
    const platforms = [...new Set(flags.platform.flatMap((v) => v.split(",")).map((p) => p.trim()))];
    // The stack schema's own pattern, so that the error names --platform, not the --set it becomes.
    const valid = new RegExp(ImageSchema.properties.platforms.items.pattern ?? "^.+$");
    for (const p of platforms) {
      if (!valid.test(p)) throw new UsageError("cli.bad-platform", `Invalid --platform '${p}': expected OS/ARCH[/VARIANT] in lower case`, { hint: "e.g. --platform linux/amd64,linux/arm64 (or repeat --platform)" });
    }
    out.push(`*.platforms=${platforms.join(",")}`);
  }
  return out;
}

/** Applies `--push` / `--load` to the loaded stack: `--load` forgets its registry for this run. */
export function applyDestination(stack: ResolvedStack, flavor: AnyFlavor, flags: Pick<BuildFlags, "push" | "load">): void {
  const config = stack.imageBuilder.config;
  // A flavor that decides per config whether it pushes (oci: `output`) has no local engine to load into.
  const configurable = flavor.pushesToRegistry !== undefined;
  if (flags.push) {
    if (!stack.containerRegistry) {
      throw new UsageError("cli.push-no-registry", `--push: the stack ${stack.file} has no container_registry to push to`, { hint: "add container_registry: { uri: HOST[:PORT] } to the stack file, or drop --push to build locally" });
    }
    if (configurable && flavor.pushesToRegistry!(config) === false) {
      throw new UsageError("cli.push-output", `--push: flavor '${flavor.name}' writes to its output ${JSON.stringify(config.output)}, not to the registry`, { hint: "drop --output (or the flavor's output setting) to push" });
    }
  }
  if (flags.load) {
    if (configurable && flavor.pushesToRegistry!(config) !== false) {
      throw new UsageError("cli.load-unsupported", `--load: flavor '${flavor.name}' has no local engine to load images into`, { hint: "give it an output instead, e.g. --output oci-layout:./out or docker-archive:./app.tar" });
    }
    delete stack.containerRegistry;
  }
}
