/**
 * The `buildah` flavor: builds with `buildah bud`, pushes with `buildah push --digestfile`.
 * The builder lives in `builder.ts`.
 */
import { Type } from "@sinclair/typebox";
import { defineFlavor } from "../../src/builder/flavor.ts";
import { containersBuildOptions } from "../_containers/config_schema.ts";
import { OUTPUT_KEY } from "../../src/builder/output_keys.ts";

export const BuildahConfig = Type.Object(
  {
    binary: Type.String({ default: "buildah", minLength: 1, description: "The buildah CLI to run: a name looked up on PATH, or a path." }),
    isolation: Type.Optional(
      Type.Union([Type.Literal("oci"), Type.Literal("rootless"), Type.Literal("chroot")], {
        [OUTPUT_KEY]: true, // RUN under another isolation can see another environment
        description: "How RUN instructions are isolated (--isolation). chroot works inside unprivileged containers.",
      }),
    ),
    storage_driver: Type.Optional(Type.String({ minLength: 1, description: "Storage driver (--storage-driver), e.g. overlay or vfs." })),
    root: Type.Optional(Type.String({ minLength: 1, description: "Storage root directory (--root)." })),
    runroot: Type.Optional(Type.String({ minLength: 1, description: "Storage state directory (--runroot)." })),
    ...containersBuildOptions,
  },
  { additionalProperties: false },
);

export default defineFlavor({
  contractVersion: 2,
  name: "buildah",
  // registryCache/annotations: mapped, and staticCheck refuses what the engine cannot do.
  capabilities: { multiPlatform: true, registryCache: true, annotations: true },
  type: "image_builder",
  description: "Build with buildah (daemonless), push with buildah push.",
  config: BuildahConfig,
  extraFlags: ["--squash", "--secret", "--ssh", "--add-host", "--shm-size", "--ulimit", "--cache-from", "--cache-to", "--cgroup-parent", "--jobs", "--userns"],
  // OCI format with HEALTHCHECK/SHELL/ONBUILD is refused by `imgb validate` too, not only by the build.
  // Registry cache and annotations too: --layers, one repository without a tag, OCI format for annotations.
  staticCheck: async (config, image) => [
    ...(await import("../_containers/image_format.ts")).formatCheck("buildah", config.format, image),
    ...(await import("../_containers/pipeline_check.ts")).pipelineCheck("buildah", config, image),
  ],
  // The probe lives beside the builder so that validating a stack never loads engine code.
  probe: async (config) => (await import("./builder.ts")).probeBuildah(config),
  implementation: async () => (await import("./builder.ts")).BuildahImageBuilder,
});
