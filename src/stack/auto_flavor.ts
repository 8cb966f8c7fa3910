/**
 * `flavor: auto` (or no image_builder at all): the first built-in engine that answers its probe
 * (AUTO_ORDER, from the built-in list) with its default config, else the daemonless fallback
 * (AUTO_FALLBACK, `oci`), which needs nothing on the machine. Like buildx's driver manager picking a default.
 */
import { Value } from "@sinclair/typebox/value";
import type { AnyFlavor } from "../builder/flavor.ts";
import { InputError, InputErrors } from "../errors.ts";
import { AUTO_FLAVOR, checkExtraFlags } from "./load.ts";
import type { ResolvedStack } from "./model.ts";
import { AUTO_FALLBACK, AUTO_ORDER } from "../catalog/builtins.ts";
import type { FlavorCatalog } from "../catalog/catalog.ts";


/** Replaces an `auto` image builder in place; returns the reasons engines were passed over. */
export async function chooseFlavor(stack: ResolvedStack, catalog: FlavorCatalog): Promise<{ chosen: string; passedOver: string[] }> {
  const passedOver: string[] = [];
  if (stack.imageBuilder.flavor !== AUTO_FLAVOR) return { chosen: stack.imageBuilder.flavor, passedOver };
  let chosen: AnyFlavor | undefined;
  for (const name of AUTO_ORDER) {
    const flavor = catalog.get(name)?.flavor;
    if (!flavor?.probe) continue;
    const probe = await flavor.probe(Value.Default(flavor.config, {}));
    if (probe.available) {
      chosen = flavor;
      break;
    }
    passedOver.push(`${name}: ${probe.reason ?? "not available"}`);
  }
  chosen ??= catalog.get(AUTO_FALLBACK)?.flavor;
  if (!chosen) throw new InputError("flavor.auto", "No image builder is available", { hint: "name a flavor in image_builder.flavor" });
  stack.imageBuilder = { flavor: chosen.name, config: Value.Default(chosen.config, {}) as Record<string, unknown> };
  const errors: InputError[] = [];
  checkExtraFlags(stack, chosen, errors);
  if (errors.length) throw new InputErrors(errors);
  return { chosen: chosen.name, passedOver };
}
