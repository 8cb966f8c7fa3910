/**
 * Image references as docker spells them: `[host[:port]/]path[:tag][@digest]`. A first path
 * component with a `.` or `:`, or `localhost`, is a registry host; otherwise the image is on
 * Docker Hub (`docker.io`, `library/` for one-component names).
 */
import { InputError } from "../errors.ts";

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
  let host = "docker.io";
  if (first !== "" && (first.includes(".") || first.includes(":") || first === "localhost")) {
    host = first;
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
  if (host === "docker.io" && !rest.includes("/")) rest = `library/${rest}`;
  const ref: ImageReference = { host, repository: rest };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}
