/**
 * The `podman` flavor: builds with podman (local, or a remote podman service with --remote),
 * pushes with `podman push --digestfile`. The builder lives in `builder.ts`.
 */
import { Type } from "@sinclair/typebox";
import { defineFlavor } from "../../src/builder/flavor.ts";
import { containersBuildOptions } from "../_containers/config_schema.ts";

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
    ...containersBuildOptions,
  },
  { additionalProperties: false },
);

export default defineFlavor({
  contractVersion: 2,
  name: "podman",
  // registryCache/annotations: mapped, and staticCheck refuses what the engine cannot do.
  capabilities: { multiPlatform: true, registryCache: true, annotations: true },
  type: "image_builder",
  description: "Build with podman, locally or against a podman service (--remote).",
  config: PodmanConfig,
  // What each builder node may set: which podman service to use.
  nodeKeys: ["url", "connection"],
  extraFlags: ["--squash", "--squash-all", "--secret", "--ssh", "--add-host", "--shm-size", "--ulimit", "--cache-from", "--cache-to", "--format", "--isolation", "--cgroup-parent", "--jobs"],
  // OCI format with HEALTHCHECK/SHELL/ONBUILD is refused by `imgb validate` too, not only by the build.
  // Registry cache and annotations too: --layers, one repository without a tag, OCI format for annotations.
  staticCheck: async (config, image) => [
    ...(await import("../_containers/image_format.ts")).formatCheck("podman", config.format, image),
    ...(await import("../_containers/pipeline_check.ts")).pipelineCheck("podman", config, image),
    ...(await import("./remote_ssh.ts")).remoteSshErrors(config, image),
  ],
  // The probe lives beside the builder so that validating a stack never loads engine code.
  probe: async (config) => (await import("./builder.ts")).probePodman(config),
  implementation: async () => (await import("./builder.ts")).PodmanImageBuilder,
});
