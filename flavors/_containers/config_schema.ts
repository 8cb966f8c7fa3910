/**
 * The config keys podman and buildah spell and mean the same way. Schema only (TypeBox): the
 * flavor modules import it, and validating a stack must never load engine code.
 */
import { Type } from "@sinclair/typebox";
import { OUTPUT_KEY } from "../../src/builder/output_keys.ts";

export const containersBuildOptions = {
  // Layer caching changes how, not what: not an output key (binary, url, root, runroot, storage_driver neither).
  layers: Type.Boolean({ [OUTPUT_KEY]: false, default: true, description: "Cache intermediate layers (--layers)." }),
  format: Type.Union([Type.Literal("auto"), Type.Literal("oci"), Type.Literal("docker")], {
    [OUTPUT_KEY]: true,
    default: "auto",
    description:
      "Image format (--format). auto: docker when the image uses HEALTHCHECK, SHELL or ONBUILD (OCI cannot hold them), else oci. oci with one of those is an error, never a silent loss.",
  }),
};
