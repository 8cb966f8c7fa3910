/**
 * `flavor: auto` (or no image_builder at all): the first built-in engine that answers its probe
 * (AUTO_ORDER, from the built-in list) with its default config, else the daemonless fallback
 * (AUTO_FALLBACK, `oci`), which needs nothing on the machine. Like buildx's driver manager picking a default.
 */
import { Value } from "@sinclair/typebox/value";
import { InputError, InputErrors } from "../errors.ts";
import { AUTO_FLAVOR, checkExtraFlags } from "./load.ts";
import type { ResolvedStack } from "./model.ts";
import { probeAuto } from "../catalog/auto.ts";
import type { FlavorCatalog } from "../catalog/catalog.ts";

/** Replaces an `auto` image builder in place; returns the reasons engines were passed over. */
export async function chooseFlavor(stack: ResolvedStack, catalog: FlavorCatalog): Promise<{ chosen: string; passedOver: string[] }> {
  if (stack.imageBuilder.flavor !== AUTO_FLAVOR) return { chosen: stack.imageBuilder.flavor, passedOver: [] };
  const { chosen, probes } = await probeAuto(catalog);
  const passedOver = probes.filter((p) => !p.result.available).map((p) => `${p.flavor}: ${p.result.reason ?? "not available"}`);
  if (!chosen) throw new InputError("flavor.auto", "No image builder is available", { hint: "name a flavor in image_builder.flavor" });
  stack.imageBuilder = { flavor: chosen.name, config: Value.Default(chosen.config, {}) as Record<string, unknown> };
  const errors: InputError[] = [];
  checkExtraFlags(stack, chosen, errors);
  if (errors.length) throw new InputErrors(errors);
  return { chosen: chosen.name, passedOver };
}
