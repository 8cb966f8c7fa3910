/**
 * Image references as docker spells them: `[host[:port]/]path[:tag][@digest]`. A first path
 * component with a `.` or `:`, or `localhost`, is a registry host; otherwise the image is on
 * Docker Hub (`docker.io`, `library/` for one-component names).
 */
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

export function parseReference(text: string): ImageReference {
  const bad = (why: string) => new InputError("image.reference", `Invalid image reference ${JSON.stringify(text)}: ${why}`);
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw bad("the digest must be sha256:<64 hex digits>");
  }
  const slash = rest.indexOf("/");
  const first = slash < 0 ? "" : rest.slice(0, slash);
  let host = DOCKER_HUB;
  if (first !== "" && (first.includes(".") || first.includes(":") || first === "localhost")) {
    host = canonicalHost(first);
    rest = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(rest)) throw bad("the repository must be lower-case path components");
  if (host === DOCKER_HUB && !rest.includes("/")) rest = `library/${rest}`;
  const ref: ImageReference = { host, repository: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}
