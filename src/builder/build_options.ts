/**
 * What a build is asked to do, independent of the engine. Each flavor maps these to its own
 * flags and rejects what its engine cannot honour (see `Flavor.extraFlags` for the escape hatch).
 */
/** A build secret (`RUN --mount=type=secret,id=ID`): where its value is, never the value. */
export interface BuildSecret {
  id: string;
  /** Absolute path of a file holding the value. Exactly one of `file` / `env`. */
  file?: string;
  /**
   * Name of the environment variable (of imgb's process) holding the value. Engines are never
   * given the variable: the builder writes it to a private 0600 file for the build.
   */
  env?: string;
}

/** An ssh forward (`RUN --mount=type=ssh,id=ID`): an agent socket or key file, or none for $SSH_AUTH_SOCK. */
export interface SshForward {
  id: string;
  path?: string;
}

/**
 * A named build context (`--build-context NAME=…`), read by `COPY --from=NAME` and `FROM NAME`:
 * a directory, or an image. Exactly one of `directory` / `image`.
 */
export interface NamedBuildContext {
  name: string;
  /** Absolute path of a directory. */
  directory?: string;
  /** An image reference (`docker-image://` is the engine's spelling, not part of it). */
  image?: string;
}

export interface BuildOptions {
  // The Dockerfile path is `buildContext.dockerfile`, its one source of truth (contract 2; see
  // docs/custom-flavor.md for flavors written against contract 1).
  /** `--build-arg K=V`, in key order. */
  buildArgs: Readonly<Record<string, string>>;
  /** Stage to build (`--target`). */
  target?: string;
  /** Target platforms, e.g. `linux/amd64`. Empty: the engine's default. */
  platforms: readonly string[];
  /** Labels put on the image. */
  labels: Readonly<Record<string, string>>;
  /** Additional tags (full references are built by the builder from `imageName` + tag). */
  tags: readonly string[];
  /** Do not use the engine's build cache. */
  noCache: boolean;
  /** Always try to pull newer base images. */
  pull: boolean;
  /** Network mode for RUN instructions: `default`, `none`, `host`, or an engine-specific name. */
  network?: string;
  /**
   * Engine-specific flags passed through verbatim, e.g. `["--squash"]`. Only flags that the
   * flavor lists in `Flavor.extraFlags` are accepted; anything else is a validation error.
   */
  extraFlags: readonly string[];
  // Registry cache and annotations (issue #13, items 3 and 4).
  /** Registry references to import build cache from (`--cache-from`). */
  cacheFrom: readonly string[];
  /** Where to export the build cache: a registry reference, or inline in the pushed image. */
  cacheTo: readonly CacheExport[];
  /** OCI annotations on the pushed manifest (and index). */
  annotations: Readonly<Record<string, string>>;
  /** Build secrets, by id order. Missing or empty: none. */
  secrets?: readonly BuildSecret[];
  /** SSH forwards, by id order. Missing or empty: none. */
  ssh?: readonly SshForward[];
  /**
   * Named build contexts, by name. Missing or empty: none. Only flavors that pass them on are
   * given any (the stack loader refuses them for the others, so none is silently dropped).
   */
  contexts?: readonly NamedBuildContext[];
}

/** A cache export: `type=registry,ref=REF` (or a plain REF), or `type=inline` (cache metadata in the image itself). */
export type CacheExport = { type: "registry"; ref: string } | { type: "inline" };

export function defaultBuildOptions(overrides: Partial<BuildOptions> = {}): BuildOptions {
  return {
    buildArgs: {},
    platforms: [],
    labels: {},
    tags: [],
    noCache: false,
    pull: false,
    extraFlags: [],
    cacheFrom: [],
    cacheTo: [],
    annotations: {},
    ...overrides,
  };
}
