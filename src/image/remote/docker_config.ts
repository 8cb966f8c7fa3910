/**
 * Registry credentials from a docker client config (`config.json`, as `docker login` writes
 * it) or a containers auth file (`auth.json`, containers-auth.json(5): the same `auths` and
 * `credHelpers`). For one host, as docker/cli's config file answers it: `credHelpers[host]`,
 * else `credsStore`, else `auths[host]` with `auth` (base64 `user:password`),
 * `username`/`password`, `identitytoken` or `registrytoken`. Keys may carry a scheme or path
 * (`https://index.docker.io/v1/`), so hosts are compared without them (Hub aliases are one host).
 * A helper is only named here; keychain.ts runs it.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { InputError } from "../../errors.ts";
import { canonicalHost, DOCKER_HUB } from "../name.ts";
import { Secret } from "../../secret.ts";
import type { RegistryCredentials } from "../../builder/container_registry.ts";
import type { Authn } from "./auth.ts";

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(env: Record<string, string | undefined> = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), ".docker"), "config.json");
}

/** `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json` (podman login's default), else none. */
export function defaultContainersAuthPath(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env.REGISTRY_AUTH_FILE) return env.REGISTRY_AUTH_FILE;
  return env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "containers", "auth.json") : undefined;
}

/** `https://index.docker.io/v1/` (where `docker login` puts Hub credentials) -> `docker.io`. */
export const configKeyHost = (key: string) => canonicalHost(key.replace(/^[a-z]+:\/\//, "").split("/")[0]!);
const normalize = configKeyHost;

/** The server URL a helper is asked about: Hub's legacy key, as `docker login` stores it, else the host. */
export const helperServerUrl = (host: string) => (canonicalHost(host) === DOCKER_HUB ? "https://index.docker.io/v1/" : host);

/** What a config file says about one host. */
export type ConfigEntry = { authn: Authn } | { helper: string } | undefined;

/** The parsed file at `path`; a missing file is an empty config. */
export function readDockerConfig(path: string): DockerConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new InputError("registry.docker-config", `Cannot read registry credentials file ${JSON.stringify(path)}: ${(e as Error).message}`);
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
    return parsed as DockerConfigFile;
  } catch (e) {
    throw new InputError("registry.docker-config", `Registry credentials file ${JSON.stringify(path)} is not valid JSON: ${(e as Error).message}`);
  }
}

/** What `config` (read from `path`) holds for `host`, in docker's order. */
export function configEntry(config: DockerConfigFile, path: string, host: string): ConfigEntry {
  const wanted = normalize(host);
  const helper = Object.entries(config.credHelpers ?? {}).find(([key]) => normalize(key) === wanted)?.[1] ?? config.credsStore;
  if (helper) return { helper };
  for (const [key, entry] of Object.entries(config.auths ?? {})) {
    if (normalize(key) !== wanted || typeof entry !== "object" || entry === null) continue;
    const authn = entryAuthn(entry, path);
    if (authn) return { authn };
  }
  return undefined;
}

function entryAuthn(entry: AuthEntry, source: string): Authn | undefined {
  if (entry.identitytoken) return { kind: "identity-token", token: new Secret(entry.identitytoken, source), source };
  if (entry.registrytoken) return { kind: "registry-token", token: new Secret(entry.registrytoken, source), source };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) return { kind: "basic", username: decoded.slice(0, colon), password: new Secret(decoded.slice(colon + 1), source), source };
  }
  if (entry.username && entry.password) return { kind: "basic", username: entry.username, password: new Secret(entry.password, source), source };
  return undefined;
}

export interface Lookup {
  credentials?: RegistryCredentials;
  /** The helper the file delegates the host to (run by keychain.ts). */
  helper?: string;
}

/** Static credentials for `host` from the config file at `path` (a missing file means none), or the helper that holds them. */
export function dockerConfigCredentials(path: string, host: string): Lookup {
  const entry = configEntry(readDockerConfig(path), path, host);
  if (!entry) return {};
  if ("helper" in entry) return { helper: entry.helper };
  return entry.authn.kind === "basic" ? { credentials: { username: entry.authn.username, password: entry.authn.password } } : {};
}
