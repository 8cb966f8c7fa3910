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


/**
 * Why a flavor cannot build named contexts (`contexts:`). podman and buildah pass them on
 * (`--build-context`, podman 4.3 and buildah 1.28); docker 20.10's built-in BuildKit has no
 * named contexts (they need buildx, or BuildKit's dockerfile frontend 1.4, which would be pulled
 * from the network) and its `docker build` no --build-context; the oci flavor reads one context.
 * A flavor not listed here (a custom one) is not known to pass them on.
 */
const NAMED_CONTEXTS_UNSUPPORTED: Record<string, string> = {
  docker: "docker 20.10's `docker build` has no --build-context (named contexts need docker buildx, or BuildKit's dockerfile frontend 1.4)",
  oci: "the oci flavor reads one build context",
};
const NAMED_CONTEXT_FLAVORS = new Set(["podman", "buildah"]);

/** Named contexts are refused with the reason, never dropped: a `COPY --from=NAME` would read an image called NAME instead. */
export function checkNamedContexts(stack: ResolvedStack, flavor: string, config: Record<string, unknown> | undefined, at: Locator, errors: InputError[]): void {
  // podman --remote sends one context to the service: a local directory cannot go along.
  const remote = flavor === "podman" && (config?.url !== undefined || config?.connection !== undefined);
  for (const image of Object.values(stack.images)) {
    const contexts = Object.entries(image.contexts ?? {});
    if (!contexts.length) continue;
    if (NAMED_CONTEXT_FLAVORS.has(flavor)) {
      if (!remote) continue;
      for (const [name, c] of contexts) {
        if (c.type !== "dir") continue;
        errors.push(new InputError("stack.named-contexts-unsupported", `Image '${image.name}' has the directory context '${name}', which the podman flavor cannot send to a remote podman service (url / connection)`, {
          location: at(toPointer(["images", image.name, "contexts", name]), false),
          hint: "build with a local podman (no url or connection), use an image context (docker-image://REF), or add the files with extra_files: { DEST: { source: DIR } }",
        }));
      }
      continue;
    }
    const reason = NAMED_CONTEXTS_UNSUPPORTED[flavor] ?? `flavor '${flavor}' is not known to pass named contexts on`;
    errors.push(new InputError("stack.named-contexts-unsupported", `Image '${image.name}' has named contexts, which flavor '${flavor}' cannot build: ${reason}`, {
      location: at(toPointer(["images", image.name, "contexts"]), true),
      hint: "use the podman or buildah flavor; or for a docker-image:// context write the image in the Dockerfile (COPY --from=REF, FROM REF), for a directory add its files with extra_files: { DEST: { source: DIR } }",
    }));
  }
}
