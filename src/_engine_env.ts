/**
 * The environment an engine child gets: only the variables engines read, not imgb's whole
 * environment. imgb's own environment holds the registry password (`password_env`) and whatever
 * else the user's shell exports; every child inherits what it is given (docker, podman, buildah,
 * conmon, the RUN step's runtime…), and /proc/<pid>/environ shows it to anyone who may read it.
 * A secret reaches an engine only on stdin or in a 0600 file.
 */

/** Exact names engines (and the credential helpers and ssh they start) read. */
const NAMES = new Set([
  "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "NO_COLOR",
  "SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS", "GNUPGHOME", "PASSWORD_STORE_DIR",
  // Custom CA bundles, honoured by the Go engines when they talk to a registry or a daemon.
  "SSL_CERT_FILE", "SSL_CERT_DIR",
  "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "DOCKER_CONTEXT", "DOCKER_BUILDKIT",
  "DOCKER_API_VERSION", "DOCKER_DEFAULT_PLATFORM", "DOCKER_CLI_EXPERIMENTAL",
  "CONTAINER_HOST", "CONTAINER_CONNECTION", "CONTAINER_SSHKEY", "REGISTRY_AUTH_FILE",
  "http_proxy", "https_proxy", "no_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
]);

/**
 * Families of settings: locale, XDG directories, containers-tools and BuildKit configuration, and
 * the markers podman/buildah set when imgb runs inside their user namespace (`buildah unshare
 * imgb build`): without them the engine would try to enter it a second time.
 */
const PREFIXES = ["LC_", "XDG_", "CONTAINERS_", "BUILDAH_", "PODMAN_", "STORAGE_", "BUILDX_", "BUILDKIT_", "_CONTAINERS_", "_BUILDAH_"];

export function isEngineVariable(name: string): boolean {
  return NAMES.has(name) || PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The allowed part of `env`, then `overrides` on top (`undefined` removes a variable). An
 * inherited variable whose value contains one of `secrets` is dropped even when its name is
 * allowed (a password exported as, say, `BUILDAH_PASSWORD`); overrides are the caller's
 * explicit choice and kept.
 */
export function engineEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  overrides: Readonly<Record<string, string | undefined>> = {},
  secrets: readonly string[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  const hidden = secrets.filter((s) => s.length > 0);
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || !isEngineVariable(k) || hidden.some((s) => v.includes(s))) continue;
    out[k] = v;
  }
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
