/**
 * The private authfile podman and buildah log in to when the stack gives credentials. An
 * `--authfile` replaces the engine's primary auth file (containers-auth.json(5):
 * `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`, where `podman login`
 * writes), so an empty one would lose the user's own logins and credential helpers kept there
 * for every other registry the build touches (a `COPY --from=<image>`, a base pulled with the
 * stack registry's flags). The private file therefore starts as what the engine reads by default
 * — the primary file, then `$XDG_CONFIG_HOME/containers/auth.json`, then the docker config.json,
 * earlier files winning per key as containers/image looks them up (the later ones are still read
 * after an `--authfile` by this podman 4.3; copying them keeps the order the same where they are
 * not) — and `login` then adds the stack's registry. Only `auths` and `credHelpers` are copied
 * (containers/image reads nothing else); the file is 0600 in the build's private temp dir.
 */
import { rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { configKeyHost, defaultContainersAuthPath, defaultDockerConfigPath, readDockerConfig } from "../../src/image/remote/docker_config.ts";
import { canonicalHost } from "../../src/image/name.ts";

/** The files containers/image reads by default, first wins. */
export function defaultAuthFiles(env: Record<string, string | undefined> = process.env): string[] {
  const runtime = defaultContainersAuthPath(env); // $REGISTRY_AUTH_FILE, else the runtime dir's
  const config = join(env.XDG_CONFIG_HOME ?? join(env.HOME ?? homedir(), ".config"), "containers", "auth.json");
  return [...(runtime ? [runtime] : []), config, defaultDockerConfigPath(env)];
}

/**
 * Writes `path` with the user's logins and helpers (see the module comment), except those for
 * `stackHost`: the stack's login replaces them, and a `credHelpers` entry for it would make
 * `login` store the stack's password in the user's keychain.
 */
export function seedAuthfile(path: string, stackHost: string, env: Record<string, string | undefined> = process.env): void {
  const skip = (key: string) => configKeyHost(key) === canonicalHost(stackHost);
  const auths: Record<string, unknown> = {};
  const credHelpers: Record<string, string> = {};
  for (const file of defaultAuthFiles(env)) {
    const config = readDockerConfig(file);
    for (const [key, entry] of Object.entries(config.auths ?? {})) if (!skip(key) && !(key in auths)) auths[key] = entry;
    for (const [key, helper] of Object.entries(config.credHelpers ?? {})) if (!skip(key) && !(key in credHelpers)) credHelpers[key] = helper;
  }
  // A new file (wx), so the mode holds: the logins are secrets.
  rmSync(path, { force: true });
  writeFileSync(path, JSON.stringify({ auths, ...(Object.keys(credHelpers).length > 0 ? { credHelpers } : {}) }), { mode: 0o600, flag: "wx" });
}
