/**
 * One look at the engine before anything is built, with the flavor's own probe: a docker socket
 * that does not exist, a podman service nobody listens on or an engine binary that is not
 * installed then fails at once in one line that names it, instead of once per image with the
 * engine's output and a summary table. Like the registry probe (registry_probe.ts).
 */
import type { AnyFlavor } from "../builder/flavor.ts";
import { RuntimeError } from "../errors.ts";

/** `guard` runs the probe (flavor code) so that its own crash is blamed on the flavor. */
export type Guard = <T>(what: string, run: () => Promise<T>) => Promise<T>;

export async function probeEngine(flavor: AnyFlavor, config: unknown, signal: AbortSignal, guard: Guard = (_what, run) => run()): Promise<void> {
  if (!flavor.probe) return; // a flavor without a probe is checked by its first build
  const probe = flavor.probe;
  const result = await guard("probing its engine", () => probe(config));
  signal.throwIfAborted();
  if (result.available) return;
  // The engine's complaint can span lines (a daemon's stderr): the error is one line.
  const reason = (result.reason ?? `The ${flavor.name} engine is not available`).split("\n").map((l) => l.trim()).filter(Boolean).join(" ");
  throw new RuntimeError("build.engine-unavailable", `${reason} (checked before building: nothing was built)`, result.hint ? { hint: result.hint } : {});
}
