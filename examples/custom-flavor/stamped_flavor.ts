/**
 * A custom flavor, "stamped": builds with Docker like the built-in flavor, and stamps every image
 * with a release version: a generated /VERSION-able file in each build context (through its own
 * BuildContext subclass) and OCI labels on the image.
 *
 * This module is the light part: name + config schema. imgb imports it when you register the
 * flavor or validate a stack that uses it. The builder (stamped_builder.ts) is imported only by
 * `imgb build`.
 *
 *   imgb flavor register ./stamped_flavor.ts
 */
import { Type, defineFlavor } from "imgb";

export const StampedConfig = Type.Object(
  {
    version: Type.String({
      pattern: "^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-[0-9A-Za-z.-]+)?$",
      description: "Release version stamped on every image (semver), e.g. 1.4.0 or 2.0.0-rc.1.",
    }),
    vendor: Type.Optional(Type.String({ minLength: 1, description: "Value of the org.opencontainers.image.vendor label." })),
    version_file: Type.String({ default: "VERSION", pattern: "^[^/][^\\0]*$", description: "Path of the generated version file inside each build context." }),
    docker: Type.Optional(
      Type.Object(
        {
          binary: Type.Optional(Type.String({ description: "docker CLI to run (default: docker)." })),
          host: Type.Optional(Type.String({ pattern: "^(unix|tcp|ssh)://.+", description: "Daemon address (DOCKER_HOST)." })),
          builder: Type.Optional(Type.Union([Type.Literal("buildkit"), Type.Literal("classic")])),
        },
        { additionalProperties: false, description: "How to reach Docker; same meaning as the docker flavor's keys." },
      ),
    ),
  },
  { additionalProperties: false },
);

export default defineFlavor({
  contractVersion: 2,
  name: "stamped",
  type: "image_builder",
  description: "Docker builds stamped with a release version (VERSION file + OCI labels).",
  config: StampedConfig,
  extraFlags: ["--add-host", "--shm-size"],
  implementation: async () => (await import("./stamped_builder.ts")).StampedBuilder,
});
