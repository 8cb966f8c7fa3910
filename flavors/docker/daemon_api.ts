/**
 * Read-mostly questions to the Docker daemon over its unix socket (the Engine API), for the
 * small calls a build makes many of: the daemon's platform, an image's ID or platform, removing
 * a helper tag. Over the socket each takes ~2 ms, the CLI ~35-60 ms. Undefined means "ask the
 * CLI": no unix socket (tcp://, ssh://, contexts), or the socket did not answer.
 */

/** The daemon's unix socket path when the host is one (the default host is /var/run/docker.sock). */
export function unixSocket(host: string | undefined): string | undefined {
  if (host === undefined || host === "") return "/var/run/docker.sock";
  return host.startsWith("unix://") ? host.slice("unix://".length) : undefined;
}

export interface DaemonApi {
  /** GET `path`: the parsed JSON, null for a 404, undefined when the API cannot be used. */
  get<T>(path: string): Promise<T | null | undefined>;
  /** DELETE `path`: true when done (or already gone), undefined when the API cannot be used. */
  delete(path: string): Promise<boolean | undefined>;
}

export function daemonApi(host: string | undefined, signal: AbortSignal): DaemonApi {
  const socket = unixSocket(host);
  const call = async (method: string, path: string): Promise<Response | undefined> => {
    if (!socket) return undefined;
    try {
      return await fetch(`http://docker${path}`, { method, unix: socket, signal } as RequestInit);
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
