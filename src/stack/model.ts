/**
 * The resolved stack: what a stack file means after interpolation, validation and path
 * resolution. Every path here is absolute. Commands work on this, never on raw YAML.
 */
import type { CacheExport } from "../builder/build_options.ts";

export interface ExtraFile {
  /** Path inside the build context (POSIX, relative, validated not to escape). */
  destination: string;
  /** Inline content (UTF-8). Exactly one of `content` / `source` is set. */
  content?: string;
  /** Absolute path of a file or directory on disk. */
  source?: string;
  /** Permission bits, e.g. 0o755. Default 0o644 for files. */
  mode?: number;
}

/** A build secret: where its value comes from (exactly one of `file` / `env`), never the value. */
export interface ResolvedSecret {
  id: string;
  /** Absolute path of the file holding it. */
  file?: string;
  /** Name of the environment variable holding it. */
  env?: string;
}

/** An ssh forward: an agent socket or key file (absolute), or none for $SSH_AUTH_SOCK. */
export interface ResolvedSsh {
  id: string;
  path?: string;
}

export interface ResolvedImage {
  name: string;
  /** Absolute context directory; undefined for a context made only of extra files. */
  context?: string;
  /** Absolute path of the Dockerfile on disk, unless `dockerfileInline` is set. */
  dockerfile?: string;
  /** Dockerfile text given inline in the stack file. */
  dockerfileInline?: string;
  /** Absolute path of an explicit ignore file (otherwise looked up beside the Dockerfile/root). */
  dockerignore?: string;
  buildArgs: Record<string, string>;
  target?: string;
  platforms: string[];
  labels: Record<string, string>;
  tags: string[];
  extraFiles: ExtraFile[];
  dependsOn: string[];
  noCache: boolean;
  pull: boolean;
  network?: string;
  extraFlags: string[];
  // Registry cache and annotations (issue #13, items 3 and 4).
  /** Registry references, validated. */
  cacheFrom: string[];
  cacheTo: CacheExport[];
  annotations: Record<string, string>;
  /** Build secrets by id order: the image's own and the stack's defaults, the image's winning. */
  secrets: ResolvedSecret[];
  ssh: ResolvedSsh[];
  /** Named extra build contexts (`COPY --from=NAME`), by name; absent when there are none. */
  contexts?: Record<string, NamedContext>;
}

/**
 * A named build context: a directory (absolute), an image reference (`docker-image://REF`), or
 * another image of the stack, whose reference is known once it is built (`${images.NAME.ref}`).
 */
export type NamedContext = { type: "dir"; path: string } | { type: "image"; ref: string } | { type: "stack-image"; image: string };

export interface ResolvedCredentials {
  username: string;
  /** Name of the environment variable holding the password. */
  passwordEnv?: string;
  /** Absolute path of a file holding the password. */
  passwordFile?: string;
}

export interface ResolvedRegistry {
  uri: string;
  repository?: string;
  insecure: boolean;
  credentials?: ResolvedCredentials;
}

/** One engine of a builder with several: its name, its whole config, the platforms it declares. */
export interface BuilderNode {
  name: string;
  /** The shared config with the node's connection keys (the flavor's `nodeKeys`) on top. */
  config: Record<string, unknown>;
  /** The platforms the node builds natively, as written; undefined: ask the engine. */
  platforms?: string[];
}

export interface ResolvedStack {
  /** Absolute path of the stack file. */
  file: string;
  /** Directory of the stack file: relative paths resolve against it. */
  dir: string;
  imageBuilder: {
    flavor: string;
    /** The flavor's config (without `nodes` and `emulation`, which are below). */
    config: Record<string, unknown>;
    /** Builder nodes (src/stack/nodes.ts), when the config lists them; else the one engine of `config`. */
    nodes?: BuilderNode[];
    /** With nodes: may an image go to a node that would emulate its platform? */
    emulation?: "allow" | "deny";
  };
  containerRegistry?: ResolvedRegistry;
  /** The stack's `reuse` key, when given (the default is decided by src/orchestrate/reuse.ts). */
  reuse?: "registry" | "local" | "off";
  /** Absolute paths of custom flavor source files listed in the stack. */
  flavorSources: string[];
  images: Record<string, ResolvedImage>;
  /** `groups`, each with its images (groups and matrix definitions replaced); absent without groups. */
  groups?: Record<string, string[]>;
  /** The images each `matrix` definition became, by the definition's name; absent without matrix. */
  matrix?: Record<string, string[]>;
}
