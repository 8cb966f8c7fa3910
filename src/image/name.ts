/**
 * Image names, the one parser (go-containerregistry's pkg/name): references as docker spells
 * them, `[host[:port]/]path[:tag][@digest]`. A first path component with a `.` or `:`, or
 * `localhost`, is a registry host; otherwise the image is on Docker Hub (`docker.io`,
 * `library/` for one-component names). Also the names a stack's `ContainerRegistry` gives:
 * its host and the repository an image is pushed to.
 */
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { InputError } from "../errors.ts";

/** Docker Hub's name in references (`docker.io`), whatever alias the user wrote. */
export const DOCKER_HUB = "docker.io";
/** Where Docker Hub serves the distribution API: `docker.io` itself does not (its token service is auth.docker.io, named by the 401 challenge). */
export const DOCKER_HUB_API = "registry-1.docker.io";
const HUB_ALIASES = new Set([DOCKER_HUB, "index.docker.io", DOCKER_HUB_API]);

/** `index.docker.io`, `registry-1.docker.io` -> `docker.io`; other hosts as they are. */
export function canonicalHost(host: string): string {
  return HUB_ALIASES.has(host.toLowerCase()) ? DOCKER_HUB : host;
}

/** The host to send `/v2/` requests to for a registry host: Docker Hub's API host, else the host itself. */
export function apiHost(host: string): string {
  return canonicalHost(host) === DOCKER_HUB ? DOCKER_HUB_API : host;
}

export interface ImageReference {
  /** `127.0.0.1:5000`, `docker.io`, … */
  host: string;
  /** `team/app`, `library/busybox`. */
  repository: string;
  tag?: string;
  digest?: string;
}

/** The tag or digest to GET: the digest when both are given (it pins the content). */
export function referenceTarget(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

export function formatReference(ref: ImageReference): string {
  return `${ref.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** Do two registry hosts name the same registry? (Docker Hub's aliases are one host.) */
export function sameHost(a: string, b: string): boolean {
  return canonicalHost(a) === canonicalHost(b);
}

/** Loopback hosts (127.0.0.0/8, localhost, ::1, with or without a port): plain HTTP for every engine. */
export function isLoopback(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return /^127\.\d+\.\d+\.\d+$/.test(name) || name === "localhost" || name === "[::1]";
}

/**
 * A reference split as written, without defaults or checks: `name[:tag][@digest]`. The tag is
 * a `:` after the last `/`, so a registry port (`host:5000/app`) is never taken for one.
 */
export function splitReference(text: string): { name: string; tag?: string; digest?: string } {
  const at = text.indexOf("@");
  const name = at >= 0 ? text.slice(0, at) : text;
  const colon = name.lastIndexOf(":");
  const out: { name: string; tag?: string; digest?: string } = colon > name.lastIndexOf("/") ? { name: name.slice(0, colon), tag: name.slice(colon + 1) } : { name };
  if (at >= 0) out.digest = text.slice(at + 1);
  return out;
}

/** `repo:tag` -> `repo`, `repo@digest` -> `repo` (keeps a registry port such as `host:5000/repo`). */
export function stripTag(reference: string): string {
  return splitReference(reference).name;
}

/** `app:v1` -> `v1`; `app` -> `latest`; `host:5000/app` -> `latest`. */
export function tagOf(reference: string): string {
  return splitReference(reference).tag ?? "latest";
}

/** The registry host (with port), e.g. `127.0.0.1:5000` for `127.0.0.1:5000/team`. */
export function registryHost(registry: Pick<ContainerRegistry, "uri">): string {
  return registry.uri.replace(/^[a-z]+:\/\//, "").split("/")[0] ?? registry.uri;
}

/** The full repository an image is pushed to, e.g. `127.0.0.1:5000/team/app`. */
export function targetRepository(registry: ContainerRegistry, imageName: string): string {
  const uri = registry.uri.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
  return `${uri}/${registry.repository ?? stripTag(imageName)}`;
}

/** `text` parsed, when it names an image in `registry`; undefined for another registry or a name that does not parse. */
export function inRegistry(registry: Pick<ContainerRegistry, "uri">, text: string): ImageReference | undefined {
  try {
    const ref = parseReference(text);
    return sameHost(ref.host, registryHost(registry)) ? ref : undefined;
  } catch {
    return undefined;
  }
}

export function parseReference(text: string): ImageReference {
  const bad = (why: string) => new InputError("image.reference", `Invalid image reference ${JSON.stringify(text)}: ${why}`);
  const parts = splitReference(text);
  const { tag, digest } = parts;
  let rest = parts.name;
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) throw bad("the digest must be sha256:<64 hex digits>");
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  let host = DOCKER_HUB;
  if (first !== "" && (first.includes(".") || first.includes(":") || first === "localhost")) {
    host = canonicalHost(first);
    rest = rest.slice(slash + 1);
  }
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(rest)) throw bad("the repository must be lower-case path components");
  if (host === DOCKER_HUB && !rest.includes("/")) rest = `library/${rest}`;
  const ref: ImageReference = { host, repository: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}
