import type { Secret } from "../secret.ts";

/** Credentials for a registry. The password is a `Secret`: it never shows up when printed. */
export interface RegistryCredentials {
  username: string;
  password: Secret;
}

/**
 * Where built images are pushed. `uri` is `host[:port][/namespace]`, e.g. `127.0.0.1:5000` or
 * `ghcr.io/acme`. An image named `app` is pushed as `<uri>/<repository ?? app>`.
 */
export interface ContainerRegistry {
  uri: string;
  /** Default repository, used instead of the image name when set. */
  repository?: string;
  /** Resolved credentials (from environment variables or files), if any. */
  credentials?: RegistryCredentials;
  /** Plain HTTP / unverified TLS (loopback registries are insecure for engines by default). */
  insecure: boolean;
}

/** The registry host (with port), e.g. `127.0.0.1:5000` for `127.0.0.1:5000/team`. */
export function registryHost(registry: Pick<ContainerRegistry, "uri">): string {
  return registry.uri.replace(/^[a-z]+:\/\//, "").split("/")[0] ?? registry.uri;
}

/** The full repository an image is pushed to, e.g. `127.0.0.1:5000/team/app`. */
export function targetRepository(registry: ContainerRegistry, imageName: string): string {
  const uri = registry.uri.replace(/^[a-z]+:\/\//, "").replace(/\/+$/, "");
  const repoName = registry.repository ?? stripTag(imageName);
  return `${uri}/${repoName}`;
}

/** `repo:tag` -> `repo` (keeps a registry port such as `host:5000/repo`). */
export function stripTag(reference: string): string {
  const at = reference.indexOf("@");
  const noDigest = at >= 0 ? reference.slice(0, at) : reference;
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}
