/**
 * `flavor: auto`, the flavor that is not one: at build time imgb probes the built-in engines in
 * order (AUTO_ORDER) with their default config and takes the first that answers, else the
 * daemonless fallback (AUTO_FALLBACK). Here the probing itself, shared by the build (which
 * picks) and `imgb flavor describe auto` (which explains, and says what it would pick here).
 */
import { Value } from "@sinclair/typebox/value";
import type { AnyFlavor, ProbeResult } from "../builder/flavor.ts";
import { AUTO_DESCRIPTION, AUTO_FALLBACK, AUTO_ORDER } from "./builtins.ts";
import type { FlavorCatalog } from "./catalog.ts";

/** What `imgb flavor describe auto` says before the probes. */
export const AUTO_EXPLANATION = [
  `auto (built-in): ${AUTO_DESCRIPTION}`,
  "",
  `At build time imgb probes ${AUTO_ORDER.join(", then ")}, each with its default config (no`,
  `image_builder.config: auto takes none), and builds with the first engine that answers. When`,
  `none does, it builds with ${AUTO_FALLBACK}, which needs no daemon or CLI. A stack without`,
  "image_builder gets auto. Name a flavor (image_builder.flavor) to build with the same engine",
  "on every machine, and to configure it.",
];

export interface AutoProbe {
  flavor: string;
  result: ProbeResult;
}

/**
 * Probes the engines in auto's order until one is available (`all`: probes every one, to
 * report). Returns the probes made and the flavor auto picks.
 */
export async function probeAuto(catalog: FlavorCatalog, options: { all?: boolean } = {}): Promise<{ chosen: AnyFlavor | undefined; probes: AutoProbe[] }> {
  const probes: AutoProbe[] = [];
  let chosen: AnyFlavor | undefined;
  for (const name of AUTO_ORDER) {
    const flavor = catalog.get(name)?.flavor;
    if (!flavor?.probe) continue;
    const result = await flavor.probe(Value.Default(flavor.config, {}));
    probes.push({ flavor: name, result });
    if (result.available && !chosen) {
      chosen = flavor;
      if (!options.all) break;
    }
  }
  return { chosen: chosen ?? catalog.get(AUTO_FALLBACK)?.flavor, probes };
}
