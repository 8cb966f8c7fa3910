/**
 * The `oci` flavor: builds Dockerfiles natively (no engine, no daemon) and pushes over the OCI
 * distribution API, or writes an OCI layout / docker-archive. Every COPY/ADD is a deterministic
 * gzip layer, so the same inputs give the same digest on any machine; RUN steps run in a
 * chroot in private namespaces (util-linux `unshare`, as root; foreign platforms through
 * binfmt_misc + qemu) and their changes become deterministic layers too (run.ts). The builder
 * lives in `builder.ts` (with its Dockerfile evaluator beside it, on top of src/image/) and is
 * imported only when a build needs it.
 */
import { Type } from "@sinclair/typebox";
import { defineFlavor } from "../../src/builder/flavor.ts";
import { OUTPUT_KEY } from "../../src/builder/output_keys.ts";

export const OciConfig = Type.Object(
  {
    output: Type.String({
      [OUTPUT_KEY]: true,
      default: "registry",
      pattern: "^(registry|oci-layout:.+|docker-archive:.+)$",
      description:
        "Where the image goes: registry (push to the stack's container_registry), oci-layout:DIR (an OCI image layout directory; several images can share it), or docker-archive:FILE (a tar for docker load / podman load; {image} in FILE is replaced by the image name). Relative paths are relative to the working directory.",
      examples: ["registry", "oci-layout:build/oci", "docker-archive:build/{image}.tar"],
    }),
    platform: Type.String({
      [OUTPUT_KEY]: true,
      default: "linux/amd64",
      pattern: "^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$",
      description: "Platform built when the image lists no platforms, as os/arch[/variant].",
    }),
    docker_config: Type.Optional(
      Type.String({ minLength: 1, description: "A docker config.json whose logins (auths, credHelpers, credsStore) are used for registries without stack credentials, before the containers auth.json. Default: $DOCKER_CONFIG/config.json, else ~/.docker/config.json." }),
    ),
    insecure_registries: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: "Registries (host:port) reached over plain HTTP. Loopback registries (127.0.0.1, localhost) always are.",
    }),
    compression_level: Type.Integer({
      [OUTPUT_KEY]: true,
      minimum: 0,
      maximum: 9,
      default: 1,
      description:
        "gzip level of the layers imgb writes: 1 (default, fastest, as crane and ko use) to 9 (smallest). The digest depends on it: change it and the image digest changes.",
    }),
  },
  { additionalProperties: false },
);

export default defineFlavor({
  contractVersion: 2,
  name: "oci",
  type: "image_builder",
  description: "Build Dockerfiles natively (no engine; RUN in a chroot, as root) and push over the OCI distribution API.",
  config: OciConfig,
  // registryCache: its staticCheck refuses both keys (no layer cache); annotations are native.
  // RUN --mount=type=secret is bound from the build's secrets; ssh forwarding is not implemented: refused, never dropped.
  capabilities: { multiPlatform: true, run: true, registryCache: true, annotations: true, secrets: true, ssh: false },
  pushesToRegistry: (config) => (config.output ?? "registry") === "registry",
  // cache_from/cache_to: nothing to import or export (annotations are native: on the manifest and index).
  staticCheck: async (config, image) => {
    const { ociProblems, locatedProblems } = await import("../_engine/pipeline_options.ts");
    const { runCheck } = await import("./run_check.ts");
    const platforms = image.platforms.length > 0 ? image.platforms : [config.platform ?? "linux/amd64"];
    return [...locatedProblems(ociProblems(image), image), ...runCheck(image.dockerfile, image.buildArgs, platforms, image.target)];
  },
  // Nothing to probe: no engine, no daemon. Registry problems show up as build errors.
  probe: async () => ({ available: true }),
  implementation: async () => (await import("./builder.ts")).OciImageBuilder,
});
