/**
 * The `docker` flavor: builds with a Docker daemon through the docker CLI (BuildKit or the
 * classic builder), pushes with `docker push`. The builder lives in `builder.ts` and is
 * imported only when a build needs it.
 */
import { Type } from "@sinclair/typebox";
import { defineFlavor } from "../../src/builder/flavor.ts";
import { OUTPUT_KEY } from "../../src/builder/output_keys.ts";

export const DockerConfig = Type.Object(
  {
    binary: Type.String({ default: "docker", minLength: 1, description: "The docker CLI to run: a name looked up on PATH, or a path." }),
    host: Type.Optional(
      Type.String({
        pattern: "^(unix|tcp|ssh|npipe|fd)://.+",
        description: "Daemon address, like DOCKER_HOST: unix:///var/run/docker.sock, tcp://127.0.0.1:2375, ssh://user@host.",
        examples: ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "ssh://builder@10.0.0.5"],
      }),
    ),
    builder: Type.Union([Type.Literal("auto"), Type.Literal("buildkit"), Type.Literal("classic")], {
      // The only key that changes the image; the others say where the daemon and CLI are.
      [OUTPUT_KEY]: true,
      default: "auto",
      description: "buildkit (DOCKER_BUILDKIT=1), the classic builder (DOCKER_BUILDKIT=0), or auto: BuildKit when the docker CLI has it (< 23, or with the buildx plugin), else classic when the Dockerfile needs nothing BuildKit-only.",
    }),
    tls_verify: Type.Optional(Type.Boolean({ description: "Use TLS and verify the daemon (DOCKER_TLS_VERIFY) for tcp:// hosts." })),
    cert_path: Type.Optional(Type.String({ minLength: 1, description: "Directory with ca.pem, cert.pem, key.pem for a TLS daemon (DOCKER_CERT_PATH)." })),
    ssh_config: Type.Optional(Type.String({ minLength: 1, description: "ssh client config file (ssh -F) for an ssh:// host: its IdentityFile, UserKnownHostsFile, Port… apply to docker's ssh connection." })),
    ssh_identity: Type.Optional(Type.String({ minLength: 1, description: "Private key file (ssh -i, IdentitiesOnly) for an ssh:// host." })),
    config_dir: Type.Optional(Type.String({ minLength: 1, description: "Docker client config directory (DOCKER_CONFIG); registry logins are stored there. Default: a private temporary directory per build when credentials are given." })),
  },
  { additionalProperties: false },
);

export default defineFlavor({
  contractVersion: 2,
  name: "docker",
  // registryCache/annotations: mapped, and staticCheck refuses what the engine cannot do.
  // Several platforms: one build each, pushed as one index (multi_platform.ts), so a registry is needed.
  capabilities: { multiPlatform: true, registryCache: true, annotations: true },
  type: "image_builder",
  description: "Build with a Docker daemon (BuildKit, or classic when the CLI has no buildx) through the docker CLI.",
  config: DockerConfig,
  // What each builder node may set: which daemon, and how to reach it.
  nodeKeys: ["host", "tls_verify", "cert_path", "ssh_config", "ssh_identity"],
  extraFlags: ["--squash", "--secret", "--ssh", "--add-host", "--shm-size", "--ulimit", "--cache-from", "--progress", "--iidfile", "--isolation", "--cgroup-parent"],
  // Registry cache export and annotations are refused by `imgb validate`, located at their keys;
  // so are secrets and ssh with the classic builder, which has no RUN --mount, and several
  // platforms without a registry.
  staticCheck: async (config, image) => {
    const { dockerProblems, locatedProblems } = await import("../_engine/pipeline_options.ts");
    // auto: checked as BuildKit here; what only BuildKit can do is refused at build time if it falls back to classic.
    const problems = locatedProblems(dockerProblems(config.builder === "classic" ? "classic" : "buildkit", image), image);
    const { platformsWithoutRegistry } = await import("./platforms_check.ts");
    problems.push(...platformsWithoutRegistry(image));
    if (config.builder !== "classic") return problems;
    const { classicMountErrors } = await import("./classic_check.ts");
    return [...problems, ...classicMountErrors(image)];
  },
  // The probe lives beside the builder so that validating a stack never loads engine code.
  probe: async (config) => (await import("./builder.ts")).probeDocker(config),
  implementation: async () => (await import("./builder.ts")).DockerImageBuilder,
});
