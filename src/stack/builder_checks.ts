/**
 * Checks of the image builder against the rest of the stack, beyond its config schema: what
 * flavor `auto` cannot take, and a flavor with nowhere to put its images.
 */
import type { Flavor } from "../builder/flavor.ts";
import { InputError } from "../errors.ts";
import { toPointer } from "./locate.ts";
import type { ResolvedStack } from "./model.ts";
import type { StackFile } from "./schema.ts";
import type { Locator } from "./schema_errors.ts";

/** Flavor `auto` picks its engine at build time: it takes no config, and no engine-specific flags. */
export function checkAutoFlavor(stack: StackFile, at: Locator, errors: InputError[]): void {
  if (stack.image_builder?.config && Object.keys(stack.image_builder.config).length) {
    errors.push(new InputError("stack.auto-config", "Flavor 'auto' takes no config: the flavor it picks uses its defaults", {
      location: at("/image_builder/config", true),
      hint: "name the flavor to configure it, e.g. flavor: docker",
    }));
  }
  for (const [name, image] of Object.entries(stack.images)) {
    if (!image.extra_flags?.length) continue;
    errors.push(new InputError("stack.auto-extra-flags", `Image '${name}' has extra_flags, but flavor 'auto' does not say which engine gets them`, {
      location: at(toPointer(["images", name, "extra_flags"]), true),
      hint: "extra flags are engine-specific: name the flavor (image_builder: { flavor: docker })",
    }));
  }
}

/**
 * The `oci` flavor writes to a registry unless its `output` says otherwise: with neither a
 * container_registry nor an output, every build would fail at its end, so validation says it.
 */
export function checkOutput(stack: ResolvedStack, flavor: Flavor, config: Record<string, unknown>, registryBroken: boolean, at: Locator, errors: InputError[]): void {
  if (flavor.name !== "oci" || config.output !== "registry" || stack.containerRegistry || registryBroken) return;
  errors.push(new InputError("stack.no-output", "Flavor 'oci' has nowhere to put the images: no container_registry and no output", {
    location: at("/image_builder/flavor", false),
    hint: "add container_registry: { uri: HOST[:PORT] }, or set config.output (oci-layout:DIR or docker-archive:FILE; --output on the command line)",
  }));
}

