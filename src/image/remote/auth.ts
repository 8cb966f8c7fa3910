/**
 * Registry authentication as the distribution spec's token flow describes it: a request answered
 * 401 carries `WWW-Authenticate`; `Basic` means "send credentials with every request", `Bearer
 * realm=…,service=…,scope=…` means "get a token from the realm (with the credentials as Basic
 * auth, or anonymously) and send it". Tokens are cached per scope set. The password only ever
 * goes into an Authorization header (or, for an identity token, a token request's form body).
 */
import { RuntimeError } from "../../errors.ts";
import type { RegistryCredentials } from "../../builder/container_registry.ts";
import type { Secret } from "../../secret.ts";

/**
 * What the client authenticates with (go-containerregistry's authn.AuthConfig): a username and
 * password (Basic, or exchanged for a bearer token), an identity token (an OAuth2 refresh token:
 * `identitytoken` in config.json, or a credential helper's answer with the username `<token>`),
 * or a registry token sent as the bearer itself (`registrytoken`). `source` says where it came
 * from, for errors: "the stack's credentials", "docker-credential-pass", "/home/u/.docker/config.json".
 */
export type Authn =
  | { kind: "basic"; username: string; password: Secret; source: string }
  | { kind: "identity-token"; token: Secret; source: string }
  | { kind: "registry-token"; token: Secret; source: string };

export function stackAuthn(credentials: RegistryCredentials): Authn {
  return { kind: "basic", username: credentials.username, password: credentials.password, source: "the stack's credentials" };
}

/** `'user' (from SOURCE)`, safe to print: never the secret. */
export function describeAuthn(authn: Authn): string {
  return authn.kind === "basic" ? `the credentials of '${authn.username}' (from ${authn.source})` : `the ${authn.kind === "identity-token" ? "identity" : "registry"} token from ${authn.source}`;
}

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

export function basicHeader(credentials: { username: string; password: Secret }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password.reveal()}`).toString("base64")}`;
}

/**
 * Fetch a bearer token for `scopes` from the challenge's realm. The realm is the registry's
 * choice; its URL (without query) may appear in errors, the credentials never do. An identity
 * token is exchanged as go-containerregistry does (transport/bearer.go): POST the OAuth2
 * refresh-token grant to the realm, and when the token server does not implement it (404), the
 * plain GET without credentials.
 */
export async function fetchToken(challenge: Challenge, scopes: readonly string[], authn: Authn | undefined, signal?: AbortSignal): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) throw new RuntimeError("registry.auth", "The registry asked for a bearer token but named no realm to get it from");
  if (authn?.kind === "registry-token") return authn.token.reveal();
  const url = new URL(realm);
  if (challenge.params.service) url.searchParams.set("service", challenge.params.service);
  for (const scope of scopes) url.searchParams.append("scope", scope);
  let res: Response | undefined;
  if (authn?.kind === "identity-token") {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: authn.token.reveal(), client_id: "imgb", scope: scopes.join(" ") });
    if (challenge.params.service) form.set("service", challenge.params.service);
    res = await tokenRequest(realm, new URL(realm), { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form, signal });
    if (res.status === 404) {
      await res.body?.cancel();
      res = undefined;
    }
  }
  if (!res) {
    const headers: Record<string, string> = {};
    if (authn?.kind === "basic") headers.Authorization = basicHeader(authn);
    res = await tokenRequest(realm, url, { headers, signal });
  }
  if (res.status === 401 || res.status === 403) {
    throw new RuntimeError("registry.unauthorized", `Token server ${realm} refused ${authn ? describeAuthn(authn) : "anonymous access"}: HTTP ${res.status}`, {
      hint: authn ? "check the username and password" : "give the registry credentials (stack credentials, a docker config.json login or a credential helper)",
    });
  }
  if (!res.ok) throw new RuntimeError("registry.auth", `Token server ${realm} failed: HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  const body = (await res.json().catch(() => ({}))) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new RuntimeError("registry.auth", `Token server ${realm} answered without a token`);
  return token;
}

async function tokenRequest(realm: string, url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw new RuntimeError("registry.unreachable", `Token server ${realm} is not reachable: ${(e as Error).message}`, { cause: e });
  }
}
