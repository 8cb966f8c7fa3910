import type { BuildContextClass, ImageBuildContext } from "./build_context.ts";
import type { BuildOptions } from "./build_options.ts";
import type { ContainerRegistry } from "./container_registry.ts";

/** Facts a builder learned during a build, beyond the returned reference. */
export interface BuildReport {
  /** Engine image ID (config digest), `sha256:…`. */
  imageId?: string;
  /** Manifest digest in the registry, `sha256:…`, when pushed (the index digest for several platforms). */
  digest?: string;
  /**
   * Multi-platform builds: each platform (`os/arch[/variant]`) and the digest of its manifest,
   * the entries of the index that `digest` names. Listed in `--metadata-file`.
   */
  platforms?: Record<string, string>;
}

/** What the host (imgb) gives a builder: where to log, how to learn of cancellation. */
export interface BuilderEnv {
  /** One line of engine output or progress; imgb prefixes it with the image name on stderr. */
  log(line: string): void;
  /** Aborted on SIGINT/SIGTERM: stop the engine subprocess and clean up. */
  signal: AbortSignal;
  /** Report the image ID / digest (used for `--metadata-file`). */
  report(facts: BuildReport): void;
}

/** An env that discards logs and reports and is never cancelled, for library use and tests. */
export function quietBuilderEnv(): BuilderEnv {
  return { log() {}, signal: new AbortController().signal, report() {} };
}

/**
 * The contract every image builder implements (ZenML's `BaseImageBuilder`).
 *
 * `build()` builds `imageName` from `buildContext`. When a registry is given it pushes the image
 * and returns the repository digest reference (`registry/repo@sha256:…`); otherwise it returns
 * the image name it built.
 */
export abstract class BaseImageBuilder<Config = unknown> {
  readonly config: Config;
  protected readonly env: BuilderEnv;

  constructor(config: Config, env: BuilderEnv = quietBuilderEnv()) {
    this.config = config;
    this.env = env;
  }

  /**
   * The BuildContext class imgb instantiates for this builder. Override it with a subclass when
   * the engine wants another layout (a directory instead of a tar, extra generated files, …).
   * Undefined (the default): imgb's own `BuildContext`. The contract names no implementation.
   */
  get buildContextClass(): BuildContextClass | undefined {
    return undefined;
  }

  /**
   * The ID of a local image, or undefined when the engine does not have it. Used to verify a
   * recorded build before reusing it; builders without it never have local builds reused.
   */
  localImageId?(reference: string): Promise<string | undefined>;

  /**
   * Point each of `targets` (full local references, `name:tag`) at the local image `source` (an
   * image ID or reference). Used when a local build is reused: tags are destinations, not
   * inputs, so a reused image still gets every tag asked for. Builders without it never have
   * local builds reused.
   */
  tagImage?(source: string, targets: readonly string[]): Promise<void>;

  abstract build(
    imageName: string,
    buildContext: ImageBuildContext,
    buildOptions: BuildOptions,
    containerRegistry?: ContainerRegistry,
  ): Promise<string>;
}
