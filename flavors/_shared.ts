/**
 * Engine-agnostic pieces the built-in builders share: which references an image gets, the flags
 * every engine spells the same way, private temporary files, and turning an engine's failure
 * output into an error that says what went wrong.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildOptions } from "../src/builder/build_options.ts";
import { stripTag, targetRepository, type ContainerRegistry } from "../src/builder/container_registry.ts";
import { InputError, RuntimeError } from "../src/errors.ts";
import { ExecError } from "../src/exec.ts";

export interface ImageReferences {
  /** The reference the build tags first and the one returned / pushed for the digest. */
  primary: string;
  /** Every reference to tag (primary first), all pushed when a registry is given. */
  all: string[];
  /** `registry/repo` when pushing. */
  repository?: string;
}

/** `app:v1` -> `v1`; `app` -> `latest`; `host:5000/app` -> `latest`. */
export function tagOf(reference: string): string {
  const repo = stripTag(reference);
  const rest = reference.slice(repo.length);
  return rest.startsWith(":") ? rest.slice(1).split("@")[0]! : "latest";
}

/** `app` + tags [v1] -> app:latest, app:v1; with a registry: 127.0.0.1:5000/app:latest, …:v1. */
export function imageReferences(imageName: string, options: Pick<BuildOptions, "tags">, registry?: ContainerRegistry): ImageReferences {
  const repository = registry ? targetRepository(registry, imageName) : stripTag(imageName);
  const tags = [tagOf(imageName), ...options.tags];
  const all = [...new Set(tags.map((t) => `${repository}:${t}`))];
  return { primary: all[0]!, all, repository: registry ? repository : undefined };
}

/** Flags docker, podman and buildah spell the same way, in a stable order. */
export function commonBuildFlags(options: BuildOptions): string[] {
  const flags: string[] = [];
  for (const key of Object.keys(options.buildArgs).sort()) flags.push("--build-arg", `${key}=${options.buildArgs[key]}`);
  for (const key of Object.keys(options.labels).sort()) flags.push("--label", `${key}=${options.labels[key]}`);
  if (options.target) flags.push("--target", options.target);
  if (options.noCache) flags.push("--no-cache");
  if (options.network && options.network !== "default") flags.push(`--network=${options.network}`);
  return flags;
}

/** One platform at most: these builders make one image per build, not a manifest list. */
export function singlePlatform(engine: string, options: BuildOptions): string[] {
  if (options.platforms.length > 1) {
    throw new InputError(
      "build.platforms-unsupported",
      `The ${engine} flavor cannot build several platforms into one image: got ${options.platforms.map((p) => `'${p}'`).join(", ")}`,
      { hint: "build one platform per image, or use a builder that makes manifest lists (e.g. docker buildx)" },
    );
  }
  return options.platforms.length === 1 ? ["--platform", options.platforms[0]!] : [];
}

/** Does `flags` (extra flags) already set `--name` (as `--name` or `--name=…`)? */
export function hasFlag(flags: readonly string[], name: string): boolean {
  return flags.some((f) => f === name || f.startsWith(`${name}=`));
}

/** A private (0700) temporary directory, removed when `fn` settles, whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `imgb-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads a `sha256:…` value an engine wrote to a file (--iidfile, --digestfile). */
export async function readDigestFile(path: string, what: string): Promise<string> {
  const file = Bun.file(path);
  const text = (await file.exists()) ? (await file.text()).trim() : "";
  const digest = text.startsWith("sha256:") ? text : /^[0-9a-f]{64}$/.test(text) ? `sha256:${text}` : "";
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new RuntimeError("build.no-digest", `The engine did not report the ${what}: ${JSON.stringify(path)} holds ${JSON.stringify(text.slice(0, 80))}`);
  }
  return digest;
}

interface Pattern {
  code: string;
  test: RegExp;
  message: (m: RegExpMatchArray) => string;
  hint?: string;
}

/** What engine output means, most specific first. Checked against the output tail. */
const BUILD_PATTERNS: Pattern[] = [
  {
    code: "build.dockerfile-missing",
    test: /Cannot locate specified Dockerfile: (\S+)|failed to read dockerfile: open \S*?([^/\s]+): no such file|no such file or directory: (?:.*\/)?(\S*(?:Dockerfile|Containerfile)\S*)|stat (?:.*\/)?(\S*(?:Dockerfile|Containerfile)\S*): no such file/i,
    message: (m) => `The Dockerfile ${JSON.stringify(m[1] ?? m[2] ?? m[3] ?? m[4])} is missing from the build context`,
    hint: "check the image's dockerfile path and the ignore file: an excluded Dockerfile is kept, a missing one is not",
  },
  {
    code: "build.base-image-missing",
    test: /pull access denied for ([^\s,]+)|failed to resolve source metadata for ([^\s:]+(?::[^\s:]+)?)|repository ([^\s]+) not found|initializing source docker:\/\/([^\s:]+:\S+?):|Unable to find image '([^']+)'|short-name "([^"]+)" did not resolve|no such image:? ?"?([^\s"]+)/i,
    message: (m) => `The base image ${JSON.stringify(m.slice(1).find(Boolean))} is not available: it is neither local nor pullable`,
    hint: "build or load the base image first, or check its name and the registry it comes from",
  },
  {
    code: "build.step-failed",
    test: /returned a non-zero code: (\d+)|did not complete successfully: exit code: (\d+)|executor failed running \[.*\]: exit code: (\d+)|building at STEP "([^"]+)".*exit status (\d+)|error building at STEP "([^"]+)"/i,
    message: (m) => {
      const code = m[1] ?? m[2] ?? m[3] ?? m[5];
      return `A build step failed${m[4] ?? m[6] ? ` (${m[4] ?? m[6]})` : ""}${code ? ` with exit code ${code}` : ""}`;
    },
  },
];

/** The engine itself is unreachable: checked before anything else, in every phase. */
const DAEMON_PATTERNS: Pattern[] = [
  {
    code: "engine.unreachable",
    test: /Cannot connect to the Docker daemon at (\S+?)\.? Is the docker daemon running|error during connect: .*?((?:tcp|unix|ssh|npipe):\/\/[^\s":]+(?::\d+)?)|Cannot connect to the Docker daemon at (\S+?)\./i,
    message: (m) => `The Docker daemon at ${JSON.stringify(m[1] ?? m[2] ?? m[3])} is not reachable`,
    hint: "start the daemon, or point the flavor's `host` at a running one (like DOCKER_HOST)",
  },
  {
    code: "engine.buildx-missing",
    test: /BuildKit is enabled but the buildx component is missing/i,
    message: () => "This docker CLI needs the buildx plugin for BuildKit, and it is missing",
    hint: "install docker-buildx, use a docker CLI < 23 (e.g. /usr/bin/docker from docker.io 20.10), or set `builder: classic`",
  },
  {
    code: "engine.unreachable",
    test: /Cannot connect to Podman|unable to connect to Podman socket/i,
    message: () => "The podman service is not reachable",
    hint: "start it (podman system service --time=0 URL) or fix the flavor's `url` / `connection`",
  },
];

const NET_PATTERNS: Pattern[] = [
  {
    code: "registry.auth-refused",
    test: /unauthorized|authentication required|incorrect username or password|401 Unauthorized|denied: requested access/i,
    message: () => "The registry refused the credentials",
    hint: "check the registry credentials (username and password source) and the repository permissions",
  },
  {
    code: "registry.unreachable",
    test: /connection refused|no such host|i\/o timeout|server gave HTTP response to HTTPS client|dial tcp [^:]+:\d+|network is unreachable|certificate signed by unknown authority/i,
    message: () => "The registry is not reachable",
    hint: "check the registry address, that it is running, and `insecure: true` for plain-HTTP registries",
  },
];

/** Turns an engine failure into a specific error: what failed, then the engine's own lines. */
export function explainFailure(e: unknown, phase: "build" | "login" | "push", subject: string): unknown {
  if (!(e instanceof ExecError) || e.code !== "exec.failed") return e;
  const text = e.tail.join("\n");
  const patterns = [...DAEMON_PATTERNS, ...(phase === "build" ? BUILD_PATTERNS : []), ...NET_PATTERNS];
  for (const p of patterns) {
    const m = text.match(p.test);
    if (m) return e.reframe(p.code, `${capitalized(phase)} of ${subject} failed: ${p.message(m)}: ${e.command} exited with ${e.exitStatus ?? e.signal}`, p.hint);
  }
  return e.reframe(`${phase}.failed`, `${capitalized(phase)} of ${subject} failed: ${e.command} exited with ${e.exitStatus ?? e.signal}`);
}

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
