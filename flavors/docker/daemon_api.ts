/**
 * Read-mostly questions to the Docker daemon over its unix socket or plain-HTTP tcp:// address
 * (the Engine API), for the small calls a build makes many of: the daemon's platform, an image's
 * ID or platform, removing a helper tag. Over the API each takes ~1-2 ms, the CLI ~35-60 ms (a
 * process, and on a loaded machine far more). Undefined means "ask the CLI": an address only the
 * CLI can reach as configured (ssh://, TLS, contexts), or the daemon did not answer.
 */

/** The daemon's unix socket path when the host is one (the default host is /var/run/docker.sock). */
export function unixSocket(host: string | undefined): string | undefined {
  if (host === undefined || host === "") return "/var/run/docker.sock";
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
}

/**
 * Where the Engine API is reached without the CLI: a unix socket, or a tcp:// daemon without TLS
 * (`tls`: the config or the environment asks for TLS, which only the CLI sets up: certificates).
 */
export function apiEndpoint(host: string | undefined, tls: boolean): { socket: string } | { base: string } | undefined {
  const socket = unixSocket(host);
  if (socket) return { socket };
  const tcp = host?.startsWith("tcp://") && !tls ? /^tcp:\/\/([^/?#]+)\/?$/.exec(host) : null;
  return tcp ? { base: `http://${tcp[1]}` } : undefined;
}

export interface DaemonApi {
  /** GET `path`: the parsed JSON, null for a 404, undefined when the API cannot be used. */
  get<T>(path: string): Promise<T | null | undefined>;
  /** DELETE `path`: true when done (or already gone), undefined when the API cannot be used. */
  delete(path: string): Promise<boolean | undefined>;
}

export function daemonApi(host: string | undefined, signal: AbortSignal, tls = false): DaemonApi {
  const endpoint = apiEndpoint(host, tls);
  const call = async (method: string, path: string): Promise<Response | undefined> => {
    if (!endpoint) return undefined;
    try {
      if ("socket" in endpoint) return await fetch(`http://docker${path}`, { method, unix: endpoint.socket, signal } as RequestInit);
      return await fetch(`${endpoint.base}${path}`, { method, signal, redirect: "manual" });
    } catch {
      return undefined; // the CLI knows about contexts and odd setups
    }
  };
  return {
    async get<T>(path: string) {
      const res = await call("GET", path);
      if (!res) return undefined;
      if (res.status === 404) return null;
      return res.ok ? ((await res.json()) as T) : undefined;
    },
    async delete(path: string) {
      const res = await call("DELETE", path);
      if (!res) return undefined;
      await res.body?.cancel();
      return res.ok || res.status === 404 ? true : undefined;
    },
  };
}
