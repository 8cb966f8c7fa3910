/**
 * The built-in flavors, listed explicitly: no registration as a side effect of importing.
 * Each import is the light flavor module (name + config schema); builders load lazily.
 *
 * This is the one list of them: `flavor: auto`'s order, the SDK's `builtinBuilder` names and
 * the stack schema's texts are derived from it. Order matters: auto probes the engines in
 * order and falls back to the daemonless flavor, which needs nothing on the machine.
 */
import buildah from "../../flavors/buildah/flavor.ts";
import docker from "../../flavors/docker/flavor.ts";
import oci from "../../flavors/oci/flavor.ts";
import podman from "../../flavors/podman/flavor.ts";
import type { AnyFlavor } from "../builder/flavor.ts";

/** The engine flavors (a daemon or CLI to drive), by name, in auto's order of preference. */
const engines = { docker, podman, buildah };

/** What auto picks when no engine answers its probe. */
const daemonless = oci;

export type BuiltinEngineName = keyof typeof engines;

export const builtinFlavors: readonly AnyFlavor[] = [...Object.values(engines), daemonless];

/** The engines `flavor: auto` probes, in order. */
export const AUTO_ORDER: readonly string[] = Object.values(engines).map((f) => f.name);

/** The flavor `flavor: auto` falls back to. */
export const AUTO_FALLBACK: string = daemonless.name;

/** What `flavor: auto` does, in words, for the stack's JSON Schema. */
export const AUTO_DESCRIPTION = `The first engine found (${AUTO_ORDER.join(", ")}), else ${AUTO_FALLBACK}.`;
