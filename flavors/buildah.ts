/**
 * The `buildah` flavor: builds with `buildah bud`, pushes with `buildah push --digestfile`.
 * The builder lives in `_buildah_builder.ts`.
 */
import { Type } from "@sinclair/typebox";
import { defineFlavor } from "../src/builder/flavor.ts";

export const BuildahConfig = Type.Object(
  {
    binary: Type.String({ default: "buildah", minLength: 1, description: "The buildah CLI to run: a name looked up on PATH, or a path." }),
    isolation: Type.Optional(
      Type.Union([Type.Literal("oci"), Type.Literal("rootless"), Type.Literal("chroot")], {
        description: "How RUN instructions are isolated (--isolation). chroot works inside unprivileged containers.",
      }),
    ),
    storage_driver: Type.Optional(Type.String({ minLength: 1, description: "Storage driver (--storage-driver), e.g. overlay or vfs." })),
    root: Type.Optional(Type.String({ minLength: 1, description: "Storage root directory (--root)." })),
    runroot: Type.Optional(Type.String({ minLength: 1, description: "Storage state directory (--runroot)." })),
    layers: Type.Boolean({ default: true, description: "Cache intermediate layers (--layers)." }),
    format: Type.Union([Type.Literal("auto"), Type.Literal("oci"), Type.Literal("docker")], {
      default: "auto",
      description:
        "Image format (--format). auto: docker when the image uses HEALTHCHECK, SHELL or ONBUILD (OCI cannot hold them), else oci. oci with one of those is an error, never a silent loss.",
    }),
  },
  { additionalProperties: false },
);

export default defineFlavor({
  contractVersion: 2,
  name: "buildah",
  capabilities: { multiPlatform: false },
  type: "image_builder",
  description: "Build with buildah (daemonless), push with buildah push.",
  config: BuildahConfig,
  extraFlags: ["--squash", "--secret", "--ssh", "--add-host", "--shm-size", "--ulimit", "--cache-from", "--cache-to", "--cgroup-parent", "--jobs", "--userns"],
  // The probe lives beside the builder so that validating a stack never loads engine code.
  probe: async (config) => (await import("./_buildah_builder.ts")).probeBuildah(config),
  implementation: async () => (await import("./_buildah_builder.ts")).BuildahImageBuilder,
});
