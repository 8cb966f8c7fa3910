/**
 * The heavy part of the "stamped" flavor, imported only when an image is built. It reuses the
 * built-in Docker builder and changes two things: the build context (a subclass that adds the
 * version file) and the build options (labels).
 */
import { BuildContext, builtinBuilder, type BuildContextOptions, type BuildOptions, type BuilderEnv, type ContainerRegistry, type Static } from "imgb";
import type { StampedConfig } from "./stamped_flavor.ts";

type Config = Static<typeof StampedConfig>;

const DockerBuilder = await builtinBuilder("docker");

export class StampedBuilder extends DockerBuilder {
  readonly stamp: Config;

  constructor(config: Config, env: BuilderEnv) {
    super({ binary: "docker", builder: "buildkit", ...config.docker }, env);
    this.stamp = config;
  }

  /** Every context this builder gets carries the version file, whatever the stack says. */
  override get buildContextClass(): typeof BuildContext {
    const { version, version_file } = this.stamp;
    return class StampedContext extends BuildContext {
      constructor(options?: BuildContextOptions) {
        super(options);
        this.addContent(`${version}\n`, version_file, 0o644);
      }
    };
  }

  override build(imageName: string, context: BuildContext, options: BuildOptions, registry?: ContainerRegistry): Promise<string> {
    const labels: Record<string, string> = { ...options.labels, "org.opencontainers.image.version": this.stamp.version };
    if (this.stamp.vendor) labels["org.opencontainers.image.vendor"] = this.stamp.vendor;
    return super.build(imageName, context, { ...options, labels }, registry);
  }
}
