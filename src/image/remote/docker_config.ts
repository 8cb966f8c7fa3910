/**
 * Registry credentials from a docker client config (`config.json`, as `docker login` writes
 * it): `auths[host].auth` (base64 `user:password`) or `username`/`password`. Keys may carry a
 * scheme or path (`https://index.docker.io/v1/`), so hosts are compared without them. Credential
 * helpers (`credsStore`, `credHelpers`) would need a subprocess, which imgb's native builder
 * does not start: such entries are reported, not used.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../errors.ts";
import { canonicalHost } from "../name.ts";
import { Secret } from "../../secret.ts";
import type { RegistryCredentials } from "../../builder/container_registry.ts";

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(env: Record<string, string | undefined> = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker"), "config.json");
}

/** `https://index.docker.io/v1/` (where `docker login` puts Hub credentials) -> `docker.io`. */
const normalize = (key: string) => canonicalHost(key.replace(/^[a-z]+:\/\//, "").split("/")[0]!);

export interface Lookup {
  credentials?: RegistryCredentials;
  /** Why nothing was found although the file mentions the host (a credential helper). */
  note?: string;
}

/** Credentials for `host` from the config file at `path` (a missing file means none). */
export function dockerConfigCredentials(path: string, host: string): Lookup {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new InputError("registry.docker-config", `Cannot read docker config ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  let config: DockerConfigFile;
  try {
    config = JSON.parse(text) as DockerConfigFile;
  } catch (e) {
    throw new InputError("registry.docker-config", `Docker config ${JSON.stringify(path)} is not valid JSON: ${(e as Error).message}`);
  }
  const wanted = normalize(host);
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normalize(key) !== wanted) continue;
    const source = `docker config ${path}`;
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) return { credentials: { username: decoded.slice(0, colon), password: new Secret(decoded.slice(colon + 1), source) } };
    }
    if (entry.username && entry.password) return { credentials: { username: entry.username, password: new Secret(entry.password, source) } };
  }
  const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => normalize(key) === wanted)?.[1] ?? config.credsStore;
  if (helper) return { note: `${path} delegates credentials to the helper 'docker-credential-${helper}', which the oci flavor does not run` };
  return {};
}
