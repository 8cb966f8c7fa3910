/**
 * The resolved stack: what a stack file means after interpolation, validation and path
 * resolution. Every path here is absolute. Commands work on this, never on raw YAML.
 */

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
}

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

export interface ResolvedStack {
  /** Absolute path of the stack file. */
  file: string;
  /** Directory of the stack file: relative paths resolve against it. */
  dir: string;
  imageBuilder: { flavor: string; config: Record<string, unknown> };
  containerRegistry?: ResolvedRegistry;
  /** The stack's `reuse` key, when given (the default is decided by src/orchestrate/reuse.ts). */
  reuse?: "registry" | "local" | "off";
  /** Absolute paths of custom flavor source files listed in the stack. */
  flavorSources: string[];
  images: Record<string, ResolvedImage>;
}
