/**
 * The `podman` flavor: builds with podman (local, or a remote podman service with --remote),
 * pushes with `podman push --digestfile`. The builder lives in `_podman_builder.ts`.
 */
import { Type } from "@sinclair/typebox";
import { defineFlavor } from "../src/builder/flavor.ts";

export const PodmanConfig = Type.Object(
  {
    binary: Type.String({ default: "podman", minLength: 1, description: "The podman CLI to run: a name looked up on PATH, or a path." }),
    url: Type.Optional(
      Type.String({
        pattern: "^(unix|tcp|ssh)://.+",
        description: "Remote podman service (implies --remote), e.g. unix:///run/podman/podman.sock or ssh://user@host/run/podman/podman.sock.",
      }),
    ),
    connection: Type.Optional(Type.String({ minLength: 1, description: "Name of a configured remote connection (podman system connection), implies --remote." })),
    root: Type.Optional(Type.String({ minLength: 1, description: "Storage root directory (--root), local mode only." })),
    runroot: Type.Optional(Type.String({ minLength: 1, description: "Storage state directory (--runroot), local mode only." })),
    storage_driver: Type.Optional(Type.String({ minLength: 1, description: "Storage driver (--storage-driver), e.g. overlay or vfs; local mode only." })),
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
  name: "podman",
  capabilities: { multiPlatform: false },
  type: "image_builder",
  description: "Build with podman, locally or against a podman service (--remote).",
  config: PodmanConfig,
  extraFlags: ["--squash", "--squash-all", "--secret", "--ssh", "--add-host", "--shm-size", "--ulimit", "--cache-from", "--cache-to", "--format", "--isolation", "--cgroup-parent", "--jobs"],
  // The probe lives beside the builder so that validating a stack never loads engine code.
  probe: async (config) => (await import("./_podman_builder.ts")).probePodman(config),
  implementation: async () => (await import("./_podman_builder.ts")).PodmanImageBuilder,
});
