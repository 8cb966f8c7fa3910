/**
 * The `oci` builder: Dockerfile -> stages -> layers -> manifests -> push or files, in-process.
 * Layers are written with the context's tar writer and node:zlib, registries are spoken to
 * with fetch; the only subprocesses are RUN steps (run.ts). Temporary files (layers, downloaded
 * blobs, the stages' root filesystems for RUN) live in one private directory removed when the
 * build ends, also on failure and cancellation.
 */
import type { Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { BaseImageBuilder, type BuilderEnv } from "../../src/builder/base_image_builder.ts";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { parseReference, tagOf } from "../../src/image/name.ts";
import type { BuildContext } from "../../src/context/build_context.ts";
import { CancelledError, InputError } from "../../src/errors.ts";
import { assembleImage, createdAt, type BuiltImage } from "../../src/image/built_image.ts";
import { assembleIndex } from "../../src/image/index.ts";
import { writeOciLayout } from "../../src/image/layout.ts";
import { writeDockerArchive } from "../../src/image/tarball.ts";
import { dockerfileName, parseDockerfile } from "../../src/dockerfile/parse.ts";
import { buildPlatform, type PlatformBuildInputs } from "./platform_build.ts";
import { pushImages } from "../../src/image/remote/push.ts";
import { Registries } from "../../src/image/remote/registries.ts";
import { parsePlatform, planBuild, platformString } from "../../src/dockerfile/stages.ts";
import { contextTree, normalize, readNode } from "./tree.ts";
import { withTempDir } from "../_engine/files.ts";
import { imageReferences } from "../_engine/references.ts";
import { ociProblems } from "../_engine/pipeline_options.ts";
import { OciConfig } from "./flavor.ts";
import { refuseMounts } from "../_engine/build_mounts.ts";
import { runCheck } from "./run_check.ts";

type Config = Static<typeof OciConfig>;

export type Output = { kind: "registry" } | { kind: "oci-layout"; path: string } | { kind: "docker-archive"; path: string };

export function parseOutput(value: string): Output {
  if (value === "registry") return { kind: "registry" };
  const colon = value.indexOf(":");
  const kind = value.slice(0, colon);
  if (colon > 0 && (kind === "oci-layout" || kind === "docker-archive") && value.length > colon + 1) return { kind, path: value.slice(colon + 1) };
  throw new InputError("oci.output", `Invalid output ${JSON.stringify(value)}: expected registry, oci-layout:DIR or docker-archive:FILE`);
}

export class OciImageBuilder extends BaseImageBuilder<Config> {
  /** imgb passes a defaulted config; a direct caller may leave keys out: they take OciConfig's defaults. */
  constructor(config: Partial<Config>, env?: BuilderEnv) {
    super(Value.Default(OciConfig, Value.Clone(config)) as Config, env);
  }

  async build(imageName: string, context: BuildContext, options: BuildOptions, registry?: ContainerRegistry): Promise<string> {
    // Validation refuses these at their keys (capabilities); a caller that skipped it is told too, never ignored.
    refuseMounts("oci flavor", { ...options, secrets: [] }, "its RUN steps have no ssh agent", "use an engine flavor (docker with BuildKit, podman or buildah)");
    const output = parseOutput(this.config.output);
    if (output.kind === "registry" && !registry) {
      throw new InputError("oci.no-registry", `The 'oci' flavor has nowhere to put image '${imageName}': the stack has no container_registry`, {
        hint: "add a container_registry, or set the flavor's output to oci-layout:DIR or docker-archive:FILE",
      });
    }
    const cacheProblem = ociProblems(options)[0];
    if (cacheProblem) throw new InputError(cacheProblem.code, cacheProblem.message, { hint: cacheProblem.hint });
    const refs = imageReferences(imageName, options, output.kind === "registry" ? registry : undefined);
    const { signal } = this.env;
    return withTempDir("oci", async (tmp) => {
      const registries = new Registries({
        registry,
        insecureRegistries: this.config.insecure_registries,
        signal,
        log: (l) => this.env.log(l),
        blobDir: tmp,
        ...(this.config.docker_config ? { dockerConfig: this.config.docker_config } : {}),
      });
      const tree = await contextTree(context);
      const dockerfile = tree.get(normalize(context.dockerfile));
      if (!dockerfile || dockerfile.type !== "file") {
        throw new InputError("oci.no-dockerfile", `The Dockerfile ${JSON.stringify(context.dockerfile)} is missing from the build context`, { hint: "check the image's dockerfile path" });
      }
      const text = new TextDecoder().decode(readNode(dockerfile));
      const df = parseDockerfile(text, dockerfileName(context.dockerfile, dockerfile.source));
      if (df.syntax) this.env.log(`note: '# syntax=${df.syntax}' ignored: the oci flavor has its own Dockerfile frontend`);
      const platformNames = options.platforms.length > 0 ? options.platforms : [this.config.platform];
      // Refused before any base is fetched: not root, no util-linux, no emulator for a platform.
      const runProblem = runCheck(df, options.buildArgs, platformNames, options.target)[0];
      if (runProblem) throw runProblem;
      const platforms = platformNames.map(parsePlatform);
      const env: Omit<PlatformBuildInputs, "plan"> = {
        df,
        context,
        contextTree: tree,
        buildArgs: options.buildArgs,
        registries,
        tmp,
        epoch: context.sourceDateEpoch,
        created: createdAt(context.sourceDateEpoch),
        compressionLevel: this.config.compression_level,
        signal,
        log: (l) => this.env.log(l),
        secrets: options.secrets ?? [],
        layerCache: new Map(),
      };
      const images: BuiltImage[] = [];
      let multiPlatform = platforms.length > 1;
      for (const platform of platforms) {
        const plan = planBuild(df, options.buildArgs, platform, options.target);
        if (images.length === 0) for (const arg of plan.unusedBuildArgs) this.env.log(`warning: build arg ${arg} is not declared by any ARG in ${df.file}`);
        const result = await buildPlatform({ ...env, plan }, platform);
        const labels = { ...result.config.config.Labels, ...options.labels };
        if (Object.keys(labels).length > 0) result.config.config.Labels = labels;
        images.push(assembleImage(result.config, result.layers, platform, options.annotations ?? {}));
        multiPlatform ||= result.multiPlatform;
      }
      if (signal.aborted) throw new CancelledError("Build cancelled");
      const index = multiPlatform ? assembleIndex(images, options.annotations ?? {}) : undefined;
      const digest = index?.descriptor.digest ?? images[0]!.manifest.descriptor.digest;
      this.env.report({ imageId: images[0]!.config.descriptor.digest });
      this.env.log(`image ${digest}${index ? ` (index of ${images.map((i) => platformString(i.platform)).join(", ")})` : ""}`);

      if (output.kind === "oci-layout") {
        await writeOciLayout(output.path, images, index, refs.all, registries);
        this.env.report({ digest });
        return refs.primary;
      }
      if (output.kind === "docker-archive") {
        if (images.length > 1) {
          throw new InputError("oci.archive-platforms", `A docker-archive holds one platform: got ${images.map((i) => platformString(i.platform)).join(", ")}`, { hint: "list one platform, or use oci-layout:DIR" });
        }
        const file = output.path.replaceAll("{image}", imageName.replace(/[/:]/g, "_"));
        await writeDockerArchive(file, images[0]!, refs.all, env.epoch, registries);
        return refs.primary;
      }
      const { host, repository } = parseReference(refs.repository!);
      const pushed = await pushImages(registries, { host, repository, tags: refs.all.map(tagOf) }, images, index, (l) => this.env.log(l));
      this.env.report({ digest: pushed });
      return `${refs.repository}@${pushed}`;
    });
  }
}
