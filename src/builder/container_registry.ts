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
