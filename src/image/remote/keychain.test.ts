/**
 * The credential chain and the credential helper protocol: against the real htpasswd registry
 * (127.0.0.1:5001) with a helper program that speaks the protocol (test/helpers/credential_helper.ts),
 * and a small token server for the identity-token (OAuth2 refresh-token) exchange.
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeError } from "../../errors.ts";
import { Secret } from "../../secret.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, requireEngine } from "../../../test/helpers/testenv.ts";
import { useHelper, type TestHelper } from "../../../test/helpers/credential_helper.ts";
import { cleanupTempDirs, tempDir } from "../../../test/helpers/tmp.ts";
import { registryClient, RegistryClient } from "./client.ts";
import { helperCredentials } from "./credential_helper.ts";
import { clearKeychainCache, userKeychain } from "./keychain.ts";

let helper: TestHelper | undefined;
afterEach(() => {
  helper?.restore();
  helper = undefined;
});
afterAll(cleanupTempDirs);

const open = () => registryClient({ uri: AUTH_REGISTRY, insecure: true });
const fail = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a failure"); }, (e: unknown) => e as RuntimeError);

describe.skipIf(!(await requireEngine("auth-registry")))("the user's credential helper, against the htpasswd registry", () => {
  test("credHelpers[host]: the helper's answer opens the registry, asked once per host per run", async () => {
    helper = useHelper(tempDir(), AUTH_REGISTRY, AUTH_USER, AUTH_PASSWORD);
    await open().checkAccess();
    expect(await open().manifestHead("imgb-keychain/none", "latest")).toBeUndefined(); // a 404 after auth, not a 401
    expect(helper.asked()).toEqual([AUTH_REGISTRY]);
  });

  test("stack credentials win: the helper is not asked", async () => {
    helper = useHelper(tempDir(), AUTH_REGISTRY, AUTH_USER, "not-the-password");
    await registryClient({ uri: AUTH_REGISTRY, insecure: true, credentials: { username: AUTH_USER, password: new Secret(AUTH_PASSWORD, "test") } }).checkAccess();
    expect(helper.asked()).toEqual([]);
  });

  test("'credentials not found' is anonymous: the 401 says where imgb looked", async () => {
    helper = useHelper(tempDir(), AUTH_REGISTRY, AUTH_USER, AUTH_PASSWORD);
    helper.setMode("notfound");
    const err = await fail(open().checkAccess());
    expect(err.code).toBe("registry.unauthorized");
    expect(err.message).toContain(`Registry ${AUTH_REGISTRY} requires authentication`);
    expect(err.message).toContain(`${join(helper.dockerConfigDir, "config.json")} (docker-credential-imgbtest: credentials not found)`);
  });

  test("a failing helper is one clear error: its name, exit code and stderr tail, never the secret", async () => {
    helper = useHelper(tempDir(), AUTH_REGISTRY, AUTH_USER, AUTH_PASSWORD);
    helper.setMode("fail");
    const err = await fail(open().checkAccess());
    expect(err.code).toBe("registry.credential-helper");
    expect(err.message).toBe(`Credential helper 'docker-credential-imgbtest' failed with exit code 3: starting the keyring / gpg: decryption failed: No secret key (asked for ${AUTH_REGISTRY})`);
    expect(err.message.split("\n")).toHaveLength(1);
    expect(JSON.stringify(err)).not.toContain(AUTH_PASSWORD);
  });

  test("a wrong secret from the helper: the 401 names the helper", async () => {
    helper = useHelper(tempDir(), AUTH_REGISTRY, AUTH_USER, "wrong-helper-password");
    const err = await fail(open().manifestHead("imgb-keychain/none", "latest"));
    expect(err.code).toBe("registry.unauthorized");
    expect(err.hint).toContain("'imgb' (from docker-credential-imgbtest)");
    expect(`${err.message} ${err.hint}`).not.toContain("wrong-helper-password");
  });

  test("a helper that is not installed", async () => {
    const dir = tempDir();
    helper = useHelper(dir, AUTH_REGISTRY, AUTH_USER, AUTH_PASSWORD);
    writeFileSync(join(helper.dockerConfigDir, "config.json"), JSON.stringify({ credsStore: "imgb-missing" }));
    const err = await fail(open().checkAccess());
    expect(err.code).toBe("registry.credential-helper");
    expect(err.message).toBe(`Credential helper 'docker-credential-imgb-missing' (for ${AUTH_REGISTRY}) is not on PATH`);
  });
});

describe("the chain's order", () => {
  const env = (dir: string, docker: unknown, containers?: unknown) => {
    writeFileSync(join(dir, "config.json"), JSON.stringify(docker));
    if (containers) writeFileSync(join(dir, "auth.json"), JSON.stringify(containers));
    clearKeychainCache();
    return { DOCKER_CONFIG: dir, ...(containers ? { REGISTRY_AUTH_FILE: join(dir, "auth.json") } : {}) };
  };
  const basic = (u: string, p: string) => ({ auth: btoa(`${u}:${p}`) });

  test("credHelpers[host] beats credsStore beats auths; identitytoken and registrytoken", async () => {
    const dir = tempDir();
    helper = useHelper(tempDir(), "h.example:1", "from-helper", "pw");
    const config = { credHelpers: { "h.example:1": "imgbtest" }, credsStore: "imgb-missing", auths: { "h.example:1": basic("from-auths", "x"), "id.example": { identitytoken: "rt" }, "rt.example": { registrytoken: "bt" } } };
    const keychain = userKeychain({ env: env(dir, config) });
    expect((await keychain("h.example:1")).authn).toMatchObject({ kind: "basic", username: "from-helper", source: "docker-credential-imgbtest" });
    expect((await fail(keychain("other.example"))).message).toContain("docker-credential-imgb-missing"); // credsStore for every other host
    const noStore = userKeychain({ env: env(dir, { ...config, credsStore: undefined }) });
    expect((await noStore("id.example")).authn?.kind).toBe("identity-token");
    expect((await noStore("rt.example")).authn?.kind).toBe("registry-token");
    expect((await noStore("other.example")).authn).toBeUndefined();
  });

  test("then the containers auth.json ($REGISTRY_AUTH_FILE), also when the docker config has nothing for the host", async () => {
    const dir = tempDir();
    const keychain = userKeychain({ env: env(dir, { auths: { "a.example": basic("docker", "x") } }, { auths: { "a.example": basic("podman", "y"), "b.example": basic("podman", "z") } }) });
    expect((await keychain("a.example")).authn).toMatchObject({ username: "docker" });
    const b = (await keychain("b.example")).authn;
    expect(b).toMatchObject({ username: "podman", source: join(dir, "auth.json") });
    expect(b?.kind === "basic" && b.password.reveal()).toBe("z");
    expect((await keychain("c.example")).searched).toEqual([`${join(dir, "config.json")} (no entry)`, `${join(dir, "auth.json")} (no entry)`]);
  });

  test("Docker Hub: the helper is asked about https://index.docker.io/v1/, whatever alias the image used", async () => {
    helper = useHelper(tempDir(), "https://index.docker.io/v1/", "hub", "pw");
    writeFileSync(join(helper.dockerConfigDir, "config.json"), JSON.stringify({ credHelpers: { "https://index.docker.io/v1/": "imgbtest" } }));
    expect((await userKeychain()("registry-1.docker.io")).authn).toMatchObject({ username: "hub" });
    expect(helper.asked()).toEqual(["https://index.docker.io/v1/"]);
  });

  test("a helper answering the username <token> gives an identity token", async () => {
    helper = useHelper(tempDir(), "t.example", "ignored", "refresh-me");
    helper.setMode("token");
    const authn = await helperCredentials("imgbtest", "t.example");
    expect(authn?.kind).toBe("identity-token");
    expect(authn?.kind === "identity-token" && authn.token.reveal()).toBe("refresh-me");
  });
});

describe("identity token: the OAuth2 refresh-token grant, as go-containerregistry does it", () => {
  /** A registry + token server on one port: the token endpoint takes the grant (or 404s, with `oauth: false`). */
  function tokenRegistry(oauth: boolean) {
    const seen: string[] = [];
    const server: ReturnType<typeof Bun.serve> = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req): Promise<Response> {
        const url = new URL(req.url);
        if (url.pathname === "/token") {
          if (req.method === "POST") {
            if (!oauth) return new Response("not here", { status: 404 });
            const form = new URLSearchParams(await req.text());
            seen.push(`POST ${form.get("grant_type")} ${form.get("refresh_token")} ${form.get("service")} ${form.get("scope")}`);
            return form.get("refresh_token") === "refresh-me" ? Response.json({ access_token: "access-1" }) : new Response("bad", { status: 401 });
          }
          seen.push(`GET ${req.headers.get("authorization") ?? "anonymous"}`);
          return Response.json({ token: "anon" });
        }
        const auth = req.headers.get("authorization");
        if (auth === "Bearer access-1" || auth === "Bearer anon") return new Response(null, { status: 200 });
        return new Response("{}", { status: 401, headers: { "www-authenticate": `Bearer realm="http://127.0.0.1:${server.port}/token",service="svc"` } });
      },
    });
    return { host: `127.0.0.1:${server.port}`, seen, stop: () => server.stop(true) };
  }

  test("POST grant_type=refresh_token to the realm, the access token is the bearer", async () => {
    const reg = tokenRegistry(true);
    try {
      const client = new RegistryClient(reg.host, { keychain: async () => ({ authn: { kind: "identity-token", token: new Secret("refresh-me", "t"), source: "t" }, searched: [] }) });
      await client.checkAccess();
      expect(reg.seen).toEqual(["POST refresh_token refresh-me svc "]);
    } finally {
      reg.stop();
    }
  });

  test("a token server without OAuth2 (404): the plain GET, as go-containerregistry falls back", async () => {
    const reg = tokenRegistry(false);
    try {
      const client = new RegistryClient(reg.host, { keychain: async () => ({ authn: { kind: "identity-token", token: new Secret("refresh-me", "t"), source: "t" }, searched: [] }) });
      await client.checkAccess();
      expect(reg.seen).toEqual(["GET anonymous"]);
    } finally {
      reg.stop();
    }
  });
});
