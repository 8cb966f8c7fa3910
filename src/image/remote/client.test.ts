import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeError } from "../../errors.ts";
import { Secret } from "../../secret.ts";
import { parseChallenge } from "./auth.ts";
import { registryClient, RegistryClient } from "./client.ts";
import { dockerConfigCredentials } from "./docker_config.ts";
import { isLoopback, parseReference } from "../name.ts";
import { MediaType, sha256 } from "../image.ts";

const PASSWORD = "s3cret-test-password";
const creds = (password = PASSWORD) => ({ username: "u", password: new Secret(password, "test") });

/** A fake registry with a token server: bearer (default) or basic auth. */
function fakeRegistry(scheme: "bearer" | "basic") {
  const blobs = new Map<string, Uint8Array>();
  const manifests = new Map<string, Uint8Array>();
  const requests: string[] = [];
  const basic = `Basic ${btoa(`u:${PASSWORD}`)}`;
  const server: ReturnType<typeof Bun.serve> = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req): Promise<Response> {
      const url = new URL(req.url);
      requests.push(`${req.method} ${url.pathname}${url.search}`);
      if (url.pathname === "/token") {
        if (req.headers.get("authorization") !== basic) return new Response("no", { status: 401 });
        return Response.json({ token: `tok:${url.searchParams.getAll("scope").join(" ")}` });
      }
      const auth = req.headers.get("authorization") ?? "";
      const ok = scheme === "basic" ? auth === basic : auth.startsWith("Bearer tok:");
      if (!ok) {
        const challenge: string = scheme === "basic" ? 'Basic realm="fake"' : `Bearer realm="http://127.0.0.1:${server.port}/token",service="fake"`;
        return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }, { status: 401, headers: { "WWW-Authenticate": challenge } });
      }
      const m = url.pathname.match(/^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/);
      if (url.pathname.endsWith("/blobs/uploads/") && req.method === "POST") {
        const from = url.searchParams.get("mount");
        if (from && blobs.has(from)) return new Response(null, { status: 201 });
        return new Response(null, { status: 202, headers: { Location: "/upload/1?_state=abc" } });
      }
      if (url.pathname.startsWith("/upload/") && req.method === "PUT") {
        const bytes = new Uint8Array(await req.arrayBuffer());
        const digest = url.searchParams.get("digest")!;
        if (sha256(bytes) !== digest) return Response.json({ errors: [{ code: "DIGEST_INVALID", message: "provided digest did not match uploaded content" }] }, { status: 400 });
        blobs.set(digest, bytes);
        return new Response(null, { status: 201 });
      }
      if (m && m[2] === "blobs") {
        const b = blobs.get(m[3]!);
        return b ? new Response(req.method === "HEAD" ? null : b, { status: 200 }) : new Response(null, { status: 404 });
      }
      if (m && m[2] === "manifests") {
        const key = `${m[1]}:${m[3]}`;
        if (req.method === "PUT") {
          const bytes = new Uint8Array(await req.arrayBuffer());
          manifests.set(key, bytes);
          manifests.set(`${m[1]}:${sha256(bytes)}`, bytes);
          return new Response(null, { status: 201, headers: { "Docker-Content-Digest": sha256(bytes) } });
        }
        const b = manifests.get(key);
        if (!b) return Response.json({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }, { status: 404 });
        return new Response(req.method === "HEAD" ? null : b, { headers: { "Content-Type": MediaType.ociManifest, "Docker-Content-Digest": sha256(b) } });
      }
      if (url.pathname === "/v2/") return Response.json({});
      return new Response("?", { status: 404 });
    },
  });
  return { server, host: `127.0.0.1:${server.port}`, requests, blobs };
}

let bearer: ReturnType<typeof fakeRegistry>;
let basicReg: ReturnType<typeof fakeRegistry>;
let dir: string;
beforeAll(() => {
  bearer = fakeRegistry("bearer");
  basicReg = fakeRegistry("basic");
  dir = mkdtempSync(join(tmpdir(), "imgb-dist-"));
});
afterAll(() => {
  bearer.server.stop(true);
  basicReg.server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

describe("RegistryClient", () => {
  for (const kind of ["bearer", "basic"] as const) {
    test(`${kind} auth: upload, mount, manifest put/head`, async () => {
      const reg = kind === "bearer" ? bearer : basicReg;
      const client = new RegistryClient(reg.host, { credentials: creds() });
      const blob = new TextEncoder().encode("layer bytes");
      const digest = sha256(blob);
      const file = join(dir, `${kind}.blob`);
      writeFileSync(file, blob);
      expect(await client.blobExists("a/b", digest)).toBe(false);
      await client.blobUpload("a/b", digest, { path: file, size: blob.length });
      expect(await client.blobExists("a/b", digest)).toBe(true);
      expect(await client.blobMount("c/d", digest, "a/b")).toBe(true);
      const manifest = new TextEncoder().encode('{"schemaVersion":2}');
      expect(await client.manifestPut("a/b", "v1", manifest, MediaType.ociManifest)).toBe(sha256(manifest));
      expect((await registryClient({ uri: reg.host, credentials: creds(), insecure: true }).manifestHead("a/b", "v1")) !== undefined).toBe(true);
      expect((await registryClient({ uri: reg.host, credentials: creds(), insecure: true }).manifestHead("a/b", "v2")) !== undefined).toBe(false);
      await client.blobToFile("a/b", digest, join(dir, `${kind}.copy`));
      expect(await Bun.file(join(dir, `${kind}.copy`)).text()).toBe("layer bytes");
    });
  }

  test("bearer token scopes include the mount source", async () => {
    const client = new RegistryClient(bearer.host, { credentials: creds() });
    await client.blobMount("x/y", sha256("none"), "a/b").catch(() => {});
    expect(bearer.requests.some((r) => r.includes("scope=repository%3Ax%2Fy%3Apull%2Cpush&scope=repository%3Aa%2Fb%3Apull"))).toBe(true);
  });

  test("wrong password: unauthorized, and the password is never in the message", async () => {
    for (const reg of [bearer, basicReg]) {
      const err = (await registryClient({ uri: reg.host, credentials: creds("wrong-password"), insecure: true }).manifestHead("a/b", "v1").catch((e) => e)) as RuntimeError;
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err.code).toBe("registry.unauthorized");
      expect(`${err.message} ${err.hint}`).not.toContain("wrong-password");
    }
  });

  test("checkAccess: the whole auth flow on GET /v2/ (bearer token dance, basic); a wrong password fails", async () => {
    for (const reg of [bearer, basicReg]) {
      await new RegistryClient(reg.host, { credentials: creds() }).checkAccess();
      const err = (await new RegistryClient(reg.host, { credentials: creds("wrong-password") }).checkAccess().catch((e) => e)) as RuntimeError;
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err.code).toBe("registry.unauthorized");
      expect(`${err.message} ${err.hint}`).not.toContain("wrong-password");
    }
    expect(bearer.requests.filter((r) => r.startsWith("GET /token"))).toContain("GET /token?service=fake");
  });

  test("no credentials: 401 is a clear error", async () => {
    const err = (await registryClient({ uri: basicReg.host, insecure: true }).manifestHead("a/b", "v1").catch((e) => e)) as RuntimeError;
    expect(err.code).toBe("registry.unauthorized");
    expect(err.message).toContain(`Registry ${basicReg.host} requires authentication for HEAD http://${basicReg.host}/v2/a/b/manifests/v1`);
  });

  test("the registry's error body is in the message; upload state is not", async () => {
    const client = new RegistryClient(bearer.host, { credentials: creds() });
    const err = (await client.blobUpload("a/b", sha256("other"), new TextEncoder().encode("bytes")).catch((e) => e)) as RuntimeError;
    expect(err.message).toBe(`Registry ${bearer.host} refused PUT http://${bearer.host}/upload/1: HTTP 400: DIGEST_INVALID: provided digest did not match uploaded content`);
  });

  test("unreachable registry", async () => {
    const err = (await registryClient({ uri: "127.0.0.1:9", insecure: true }).manifestHead("a/b", "v1").catch((e) => e)) as RuntimeError;
    expect(err.code).toBe("registry.unreachable");
    expect(err.message).toStartWith("Registry 127.0.0.1:9 is not reachable: HEAD http://127.0.0.1:9/v2/a/b/manifests/v1 failed:");
  });

  test("transport: http for loopback and insecure, https otherwise", () => {
    expect(isLoopback("127.0.0.1:5000") && isLoopback("localhost") && isLoopback("[::1]:5000")).toBe(true);
    expect(new RegistryClient("ghcr.io").base).toBe("https://ghcr.io");
    expect(new RegistryClient("reg.lan:5000", { insecure: true }).base).toBe("http://reg.lan:5000");
  });
});

describe("helpers", () => {
  test("parseChallenge", () => {
    expect(parseChallenge('Bearer realm="https://auth.io/token",service="reg",scope="repository:a:pull,push"')).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.io/token", service: "reg", scope: "repository:a:pull,push" },
    });
    expect(parseChallenge('Basic realm="x"').scheme).toBe("basic");
  });

  test("docker config.json auths", () => {
    const path = join(dir, "config.json");
    writeFileSync(path, JSON.stringify({ auths: { "https://127.0.0.1:5001/v1/": { auth: btoa("imgb:pw:with:colons") }, "other:1": { username: "a", password: "b" } }, credHelpers: { "gcr.io": "gcloud" } }));
    const found = dockerConfigCredentials(path, "127.0.0.1:5001").credentials!;
    expect(found.username).toBe("imgb");
    expect(found.password.reveal()).toBe("pw:with:colons");
    expect(dockerConfigCredentials(path, "other:1").credentials?.username).toBe("a");
    expect(dockerConfigCredentials(path, "gcr.io").helper).toBe("gcloud");
    expect(dockerConfigCredentials(join(dir, "missing.json"), "x")).toEqual({});
  });

  test("parseReference", () => {
    expect(parseReference("busybox")).toEqual({ host: "docker.io", repository: "library/busybox" });
    expect(parseReference("127.0.0.1:5000/team/app:v1")).toEqual({ host: "127.0.0.1:5000", repository: "team/app", tag: "v1" });
    expect(parseReference(`localhost/app@sha256:${"a".repeat(64)}`)).toEqual({ host: "localhost", repository: "app", digest: `sha256:${"a".repeat(64)}` });
    expect(() => parseReference("Upper/Case")).toThrow("Invalid image reference");
  });
});
