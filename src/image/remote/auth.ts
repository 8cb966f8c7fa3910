/**
 * Registry authentication as the distribution spec's token flow describes it: a request answered
 * 401 carries `WWW-Authenticate`; `Basic` means "send credentials with every request", `Bearer
 * realm=…,service=…,scope=…` means "get a token from the realm (with the credentials as Basic
 * auth, or anonymously) and send it". Tokens are cached per scope set. The password only ever
 * goes into an Authorization header.
 */
import { RuntimeError } from "../../errors.ts";
import type { RegistryCredentials } from "../../builder/container_registry.ts";

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="https://auth",service="reg",scope="a,b"` (quoted values may hold commas). */
export function parseChallenge(header: string): Challenge {
  const m = header.trim().match(/^(\S+)\s*([\s\S]*)$/);
  const scheme = (m?.[1] ?? "").toLowerCase();
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? "").matchAll(/([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
  }
  return { scheme, params };
}

export function basicHeader(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password.reveal()}`).toString("base64")}`;
}

/**
 * Fetch a bearer token for `scopes` from the challenge's realm. The realm is the registry's
 * choice; its URL (without query) may appear in errors, the credentials never do.
 */
export async function fetchToken(challenge: Challenge, scopes: readonly string[], credentials: RegistryCredentials | undefined, signal?: AbortSignal): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) throw new RuntimeError("registry.auth", "The registry asked for a bearer token but named no realm to get it from");
  const url = new URL(realm);
  if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
  for (const scope of scopes) url.searchParams.append("scope", scope);
  const headers: Record<string, string> = {};
  if (credentials) headers.Authorization = basicHeader(credentials);
  let res: Response;
  try {
    res = await fetch(url, { headers, signal });
  } catch (e) {
    throw new RuntimeError("registry.unreachable", `Token server ${realm} is not reachable: ${(e as Error).message}`, { cause: e });
  }
  if (res.status === 401 || res.status === 403) {
    throw new RuntimeError("registry.unauthorized", `Token server ${realm} refused ${credentials ? `the credentials of '${credentials.username}'` : "anonymous access"}: HTTP ${res.status}`, {
      hint: credentials ? "check the username and password" : "give the registry credentials (stack credentials or docker_config)",
    });
  }
  if (!res.ok) throw new RuntimeError("registry.auth", `Token server ${realm} failed: HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new RuntimeError("registry.auth", `Token server ${realm} answered without a token`);
  return token;
}
