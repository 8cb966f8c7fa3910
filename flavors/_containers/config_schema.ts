/**
 * The config keys podman and buildah spell and mean the same way. Schema only (TypeBox): the
 * flavor modules import it, and validating a stack must never load engine code.
 */
import { Type } from "@sinclair/typebox";

export const containersBuildOptions = {
  layers: Type.Boolean({ default: true, description: "Cache intermediate layers (--layers)." }),
  format: Type.Union([Type.Literal("auto"), Type.Literal("oci"), Type.Literal("docker")], {
    default: "auto",
    description:
      "Image format (--format). auto: docker when the image uses HEALTHCHECK, SHELL or ONBUILD (OCI cannot hold them), else oci. oci with one of those is an error, never a silent loss.",
  }),
};
