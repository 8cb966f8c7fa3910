/**
 * The user's registry credentials for a host, found where docker, podman and
 * go-containerregistry's DefaultKeychain find them (stack credentials, when a stack gives them,
 * win before this is asked): first the docker config (`$DOCKER_CONFIG/config.json`, default
 * `~/.docker/config.json`, or the oci flavor's `docker_config`) — `credHelpers[host]`, else
 * `credsStore`, else `auths[host]` — then the containers auth file (`$REGISTRY_AUTH_FILE`, else
 * `$XDG_RUNTIME_DIR/containers/auth.json`). go-containerregistry reads the containers file only
 * when there is no docker config at all; here it is also asked when the docker config has nothing
 * for the host, so a `podman login` is found next to an unrelated `docker login`.
 *
 * A helper runs at most once per host per run (imgb is one process per run): every client of the
 * run (oci flavor, reuse verification, retag, base-image lookup, probe, podman --remote digests)
 * shares the answer. Nothing here runs until a registry answers 401.
 */
import { canonicalHost } from "../name.ts";
import type { Authn } from "./auth.ts";
import type { Secret } from "../../secret.ts";
import { helperCredentials } from "./credential_helper.ts";
import { configEntry, defaultContainersAuthPath, defaultDockerConfigPath, helperServerUrl, readDockerConfig } from "./docker_config.ts";

export interface KeychainOptions {
  /** A docker config.json instead of `$DOCKER_CONFIG/config.json` / `~/.docker/config.json`. */
  dockerConfig?: string;
  env?: Record<string, string | undefined>;
  signal?: AbortSignal;
  /** Secrets a helper's environment must not carry (the stack's registry password). */
  hide?: readonly Secret[];
}

export interface KeychainAnswer {
  authn?: Authn;
  /** Where it looked, for a 401 without credentials: `~/.docker/config.json (docker-credential-pass: none)`. */
  searched: string[];
}

export type Keychain = (host: string) => Promise<KeychainAnswer>;

const answers = new Map<string, Promise<KeychainAnswer>>();

/** The user's keychain (see the module comment), cached per host for the run. */
export function userKeychain(options: KeychainOptions = {}): Keychain {
  return (host) => {
    const env = options.env ?? process.env;
    const files = [options.dockerConfig ?? defaultDockerConfigPath(env), defaultContainersAuthPath(env)].filter((f): f is string => f !== undefined);
    const key = JSON.stringify([files, canonicalHost(host)]);
    let answer = answers.get(key);
    if (!answer) {
      answer = lookup(files, host, options.signal, (options.hide ?? []).map((h) => h.reveal()));
      answers.set(key, answer);
      answer.catch(() => answers.delete(key)); // a failed or cancelled helper is asked again next time
    }
    return answer;
  };
}

/** Forget every cached answer (tests that change the files between runs in one process). */
export function clearKeychainCache(): void {
  answers.clear();
}

async function lookup(files: readonly string[], host: string, signal: AbortSignal | undefined, hide: readonly string[]): Promise<KeychainAnswer> {
  const searched: string[] = [];
  for (const file of files) {
    const entry = configEntry(readDockerConfig(file), file, host);
    if (!entry) {
      searched.push(`${file} (no entry)`);
      continue;
    }
    if ("authn" in entry) return { authn: entry.authn, searched };
    const authn = await helperCredentials(entry.helper, helperServerUrl(host), signal, hide);
    if (authn) return { authn, searched };
    searched.push(`${file} (docker-credential-${entry.helper}: credentials not found)`);
  }
  return { searched };
}
