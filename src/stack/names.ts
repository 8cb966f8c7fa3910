/**
 * Docker's reference grammar (distribution/reference) for what a stack file names: image
 * names, registry URIs (`host[:port][/namespace]`). The patterns go into the schema (so editors
 * check them too); the explainers say which part of a refused value is wrong, since "must match
 * <a 200-character regex>" tells a user nothing.
 */

/** A repository path component: lowercase alphanumerics joined by `.`, `_`, `__` or dashes. */
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
/** A host name component: letters, digits and inner dashes (no leading or trailing `-`). */
const HOST_COMPONENT = "[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?";
const HOST = `(?:${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])`;

/** Docker's limit on a repository name, registry host included. */
export const MAX_NAME_LENGTH = 255;

/** Docker repository path: lowercase components separated by `/` (no tag, no registry), at most 255 characters. */
export const IMAGE_NAME_PATTERN = `^(?=.{1,${MAX_NAME_LENGTH}}$)${COMPONENT}(?:/${COMPONENT})*$`;

/** `host[:port][/namespace]`; the port's range (1..65535) is checked by `registryUriProblem`. */
export const REGISTRY_URI_PATTERN = `^${HOST}(?::[0-9]{1,5})?(?:/${COMPONENT})*/?$`;

export interface Problem {
  message: string;
  hint?: string;
}

const componentHint = "path components are lowercase letters and digits, joined by '.', '_', '__' or '-'";

/** What is wrong with an image or repository name, or undefined when it is valid. */
export function imageNameProblem(name: string): Problem | undefined {
  if (name.length > MAX_NAME_LENGTH) {
    return { message: `Image name is ${name.length} characters long: the limit is ${MAX_NAME_LENGTH}`, hint: "use a shorter repository path" };
  }
  if (new RegExp(IMAGE_NAME_PATTERN).test(name)) return undefined;
  const bad = name.split("/").find((c) => !new RegExp(`^${COMPONENT}$`).test(c));
  return {
    message: `Invalid name '${name}': ${bad === "" ? "empty path component" : `'${bad}' is not a repository path component`}`,
    hint: `image names are lowercase repository paths: ${componentHint}, separated by '/'`,
  };
}

/** What is wrong with a registry URI, or undefined when it is valid. */
export function registryUriProblem(uri: string): Problem | undefined {
  const shape = "write host[:port][/namespace], e.g. 127.0.0.1:5000 or ghcr.io/acme";
  if (uri === "") return { message: "Registry URI is empty", hint: shape };
  if (uri.includes("://")) return { message: `Invalid registry URI '${uri}': no scheme is allowed`, hint: `${shape}; 'insecure: true' selects plain HTTP` };
  if (/\s/.test(uri)) return { message: `Invalid registry URI '${uri}': it contains white space`, hint: shape };
  const slash = uri.indexOf("/");
  const authority = slash < 0 ? uri : uri.slice(0, slash);
  const rest = slash < 0 ? "" : uri.slice(slash + 1);
  // One trailing `/` is allowed (`ghcr.io/acme/`); anything else after the host is checked.
  const namespace = rest.endsWith("/") ? rest.slice(0, -1) : rest;
  const ipv6 = /^\[[^\]]*\]/.exec(authority)?.[0];
  const colon = authority.indexOf(":", ipv6?.length ?? 0);
  const host = colon < 0 ? authority : authority.slice(0, colon);
  const port = colon < 0 ? undefined : authority.slice(colon + 1);
  if (host === "") return { message: `Invalid registry URI '${uri}': no host`, hint: shape };
  if (!new RegExp(`^${HOST}$`).test(host)) {
    return { message: `Invalid registry host '${host}'`, hint: "a host is a domain name or an IP address: letters, digits, '.' and '-', not starting or ending with '-'" };
  }
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return { message: `Invalid registry port '${port}': expected a number from 1 to 65535`, hint: shape };
  }
  if (rest !== "") {
    const bad = namespace.split("/").find((c) => !new RegExp(`^${COMPONENT}$`).test(c));
    if (bad !== undefined) {
      const why = bad === "" ? "empty path component" : `'${bad}' is not a repository path component`;
      return { message: `Invalid registry namespace '${namespace}': ${why}`, hint: `${componentHint} (lowercase only)` };
    }
  }
  if (uri.length > MAX_NAME_LENGTH) return { message: `Registry URI is ${uri.length} characters long: the limit is ${MAX_NAME_LENGTH}`, hint: "image names, registry included, are at most 255 characters" };
  return undefined;
}

/**
 * Explainers by schema pattern: a refused value gets the explainer's message instead of the
 * pattern. Keyed by the pattern itself, so the schema stays the single source of the grammar.
 */
export const patternExplainers: ReadonlyMap<string, (value: string) => Problem | undefined> = new Map([
  [IMAGE_NAME_PATTERN, imageNameProblem],
  [REGISTRY_URI_PATTERN, registryUriProblem],
]);
