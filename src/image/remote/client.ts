/**
 * A small OCI distribution client: manifests and blobs of one registry, with the auth flow of
 * auth.ts. Plain HTTP for insecure and loopback registries, HTTPS otherwise. Blobs stream from
 * and to files, never whole in memory. Every failure is a RuntimeError naming the method, the
 * URL (without query: upload URLs carry state) and the registry's own error, never credentials.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { ContainerRegistry, RegistryCredentials } from "../../builder/container_registry.ts";
import { CancelledError, ImgbError, RuntimeError, writeError } from "../../errors.ts";
import { basicHeader, describeAuthn, fetchToken, parseChallenge, stackAuthn, type Authn } from "./auth.ts";
import { userKeychain, type Keychain, type KeychainAnswer } from "./keychain.ts";
import { apiHost, isLoopback, registryHost } from "../name.ts";
import { MANIFEST_ACCEPT } from "../image.ts";

export interface ClientOptions {
  /** Plain HTTP. Loopback hosts (127.0.0.0/8, localhost, ::1) always use HTTP. */
  insecure?: boolean;
  /** The stack's credentials: they win over the keychain. */
  credentials?: RegistryCredentials;
  /** Where to look when there are no stack credentials (keychain.ts), asked on the first 401 only. */
  keychain?: Keychain;
  signal?: AbortSignal;
}

export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

const pull = (repo: string) => `repository:${repo}:pull`;
const push = (repo: string) => `repository:${repo}:pull,push`;

/**
 * The client of a stack's registry (`ContainerRegistry`): its host, its transport (insecure or
 * loopback: plain HTTP) and its credentials. Repositories are then the `repository` of a name
 * parsed by `../name.ts` (`inRegistry`), never sliced out of a string. Without stack
 * credentials, the user's own (docker config, credential helpers, containers auth.json).
 */
export function registryClient(registry: ContainerRegistry, signal?: AbortSignal): RegistryClient {
  const auth = registry.credentials ? { credentials: registry.credentials } : { keychain: userKeychain(signal ? { signal } : {}) };
  return new RegistryClient(registryHost(registry), { insecure: registry.insecure, ...auth, ...(signal ? { signal } : {}) });
}

export class RegistryClient {
  readonly host: string;
  readonly base: string;
  private readonly credentials?: RegistryCredentials;
  private readonly keychain?: Keychain;
  /** What the client authenticates with, resolved on the first 401. */
  private answer?: Promise<KeychainAnswer>;
  private authn?: Authn;
  private readonly signal?: AbortSignal;
  /** Authorization header per scope set; "basic" once the registry asked for Basic auth. */
  private readonly auth = new Map<string, string>();
  private basic: string | undefined;

  constructor(host: string, options: ClientOptions = {}) {
    this.host = host;
    this.base = `${options.insecure || isLoopback(host) ? "http" : "https"}://${apiHost(host)}`;
    if (options.credentials) this.credentials = options.credentials;
    if (options.keychain) this.keychain = options.keychain;
    if (options.signal) this.signal = options.signal;
  }

  async manifestHead(repo: string, reference: string): Promise<ManifestInfo | undefined> {
    const res = await this.request("HEAD", `/v2/${repo}/manifests/${reference}`, { scopes: [pull(repo)], ok: [200, 404], headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    return { digest: res.headers.get("docker-content-digest") ?? "", mediaType: res.headers.get("content-type") ?? "", size: Number(res.headers.get("content-length") ?? 0) };
  }

  async manifestGet(repo: string, reference: string): Promise<{ bytes: Uint8Array; mediaType: string }> {
    const res = await this.request("GET", `/v2/${repo}/manifests/${reference}`, { scopes: [pull(repo)], ok: [200], headers: { Accept: MANIFEST_ACCEPT } });
    return { bytes: new Uint8Array(await res.arrayBuffer()), mediaType: (res.headers.get("content-type") ?? "").split(";")[0]!.trim() };
  }

  /**
   * PUT a manifest under a tag or digest; returns the digest the registry computed. A refusal
   * for a blob or manifest it does not find is asked again after a short wait (PUT_RETRIES):
   * callers PUT a manifest only once everything it references is there, and the reference
   * registry briefly loses sight of a blob while another push links the same blob into the
   * repository (its filesystem driver rewrites the link file in place: truncate, then write; a
   * manifest PUT that reads it in between finds it empty and answers 400 DIGEST_INVALID,
   * MANIFEST_BLOB_UNKNOWN). Two CI jobs building the same image do exactly that. Measured on
   * the test registry under load: 2 of 60 concurrent pushes of one image failed so before; with
   * the retry 0 of 120 (and 0 of 220 with an earlier form that also asked for the blobs again).
   */
  async manifestPut(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.request("PUT", `/v2/${repo}/manifests/${reference}`, { scopes: [push(repo)], ok: [201], headers: { "Content-Type": mediaType }, body: bytes });
        return res.headers.get("docker-content-digest") ?? "";
      } catch (e) {
        if (!isUnknownReference(e)) throw e;
        if (attempt === PUT_RETRIES.length) {
          throw new RegistryError(e.code, `${e.message} (asked ${attempt + 1} times over ${PUT_RETRIES.reduce((a, b) => a + b, 0)} ms)`, e.status, e.registryCodes);
        }
        await Bun.sleep(PUT_RETRIES[attempt]!);
      }
    }
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    const res = await this.request("HEAD", `/v2/${repo}/blobs/${digest}`, { scopes: [pull(repo)], ok: [200, 404] });
    return res.status === 200;
  }

  async blobBytes(repo: string, digest: string): Promise<Uint8Array> {
    const res = await this.request("GET", `/v2/${repo}/blobs/${digest}`, { scopes: [pull(repo)], ok: [200] });
    const bytes = new Uint8Array(await res.arrayBuffer());
    verify(digest, new Bun.CryptoHasher("sha256").update(bytes), `${this.base}/v2/${repo}/blobs/${digest}`);
    return bytes;
  }

  /** Download a blob to `path` (written to a temp name, renamed when its digest checks out). */
  async blobToFile(repo: string, digest: string, path: string): Promise<void> {
    const res = await this.request("GET", `/v2/${repo}/blobs/${digest}`, { scopes: [pull(repo)], ok: [200] });
    const partial = `${path}.partial`;
    let fd: number;
    try {
      fd = openSync(partial, "w", 0o600);
    } catch (e) {
      await res.body?.cancel();
      throw writeError(e, "a downloaded blob", partial);
    }
    const hash = new Bun.CryptoHasher("sha256");
    try {
      for await (const chunk of res.body!) {
        hash.update(chunk);
        try {
          writeSync(fd, chunk);
        } catch (e) {
          throw writeError(e, "a downloaded blob", partial); // the disk, not the registry
        }
      }
    } catch (e) {
      closeSync(fd);
      try {
        rmSync(partial, { force: true });
      } catch {
        // a read-only file system refuses even this; the error that matters is the one below
      }
      if (e instanceof ImgbError) throw e;
      throw this.networkError("GET", `/v2/${repo}/blobs/${digest}`, e);
    }
    closeSync(fd);
    verify(digest, hash, `${this.base}/v2/${repo}/blobs/${digest}`);
    renameSync(partial, path);
  }

  /** Cross-repository mount; false when the registry started an upload instead (then cancelled). */
  async blobMount(repo: string, digest: string, fromRepo: string): Promise<boolean> {
    const path = `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(fromRepo)}`;
    const res = await this.request("POST", path, { scopes: [push(repo), pull(fromRepo)], ok: [201, 202] });
    if (res.status === 201) return true;
    const location = res.headers.get("location");
    if (location) await this.request("DELETE", location, { scopes: [push(repo)], ok: [204, 404, 405] }).catch(() => {});
    return false;
  }

  /**
   * Monolithic upload: POST for a session, then one PUT with the whole blob streamed from a
   * file (or bytes) and `?digest=`. The registry verifies the digest before it commits.
   */
  async blobUpload(repo: string, digest: string, body: Uint8Array | { path: string; size: number }): Promise<void> {
    const started = await this.request("POST", `/v2/${repo}/blobs/uploads/`, { scopes: [push(repo)], ok: [202] });
    const location = started.headers.get("location");
    if (!location) throw new RuntimeError("registry.upload", `Registry ${this.host} started an upload for ${repo} without a Location header`);
    const url = new URL(location, this.base);
    url.searchParams.set("digest", digest);
    const data = body instanceof Uint8Array ? body : Bun.file(body.path);
    const size = body instanceof Uint8Array ? body.length : body.size;
    await this.request("PUT", url.toString(), { scopes: [push(repo)], ok: [201], headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) }, body: data });
  }

  /** Is the registry there and speaking the distribution API? (200 or 401 on /v2/). */
  async ping(): Promise<void> {
    await this.send("GET", `${this.base}/v2/`, {}, undefined, [200, 401]);
  }

  /**
   * Do the client's credentials open the registry? `GET /v2/` through the whole auth flow
   * (Basic, or a bearer token for no particular repository): a wrong password fails here.
   */
  async checkAccess(): Promise<void> {
    await this.request("GET", "/v2/", { scopes: [], ok: [200] });
  }

  /** Every tag of `repo` (following the `Link` header of paginated answers); none for a repository that does not exist. */
  async tagsList(repo: string): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined = `/v2/${repo}/tags/list?n=1000`;
    while (path) {
      const res = await this.request("GET", path, { scopes: [pull(repo)], ok: [200, 404] });
      if (res.status === 404) return tags;
      const body = (await res.json().catch(() => ({}))) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      path = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get("link") ?? "")?.[1];
    }
    return tags;
  }

  /**
   * DELETE a manifest by digest: the image and every tag pointing at it. A registrywith
   * deletion disabled (docker-registry without `storage.delete.enabled: true`) answers 405.
   */
  async manifestDelete(repo: string, digest: string): Promise<void> {
    await this.request("DELETE", `/v2/${repo}/manifests/${digest}`, { scopes: [`repository:${repo}:delete`, push(repo)], ok: [202, 200] });
  }

  private async request(method: string, path: string, req: { scopes: string[]; ok: number[]; headers?: Record<string, string>; body?: Uint8Array | Blob }): Promise<Response> {
    const url = path.startsWith("http") ? path : `${this.base}${path}`;
    const key = req.scopes.join(" ");
    const headers = { ...req.headers };
    const cached = this.basic ?? this.auth.get(key);
    if (cached) headers.Authorization = cached;
    let res = await this.send(method, url, headers, req.body, [...req.ok, 401]);
    if (res.status === 401) {
      await res.body?.cancel();
      const header = res.headers.get("www-authenticate") ?? "";
      const challenge = parseChallenge(header);
      const { authn, searched } = await this.resolveAuthn();
      if (challenge.scheme === "bearer") {
        this.auth.set(key, `Bearer ${await fetchToken(challenge, req.scopes, authn, this.signal)}`);
      } else if (challenge.scheme === "basic" && authn?.kind === "basic") {
        this.basic = basicHeader(authn);
      } else if (challenge.scheme === "basic" && authn?.kind === "registry-token") {
        this.basic = `Bearer ${authn.token.reveal()}`; // as go-containerregistry's basic transport sends it
      } else {
        const why = authn ? `; ${describeAuthn(authn)} cannot answer a ${challenge.scheme || "non-standard"} challenge` : searched.length > 0 ? `; no credentials for ${this.host} in ${searched.join(", ")}` : "";
        throw new RuntimeError("registry.unauthorized", `Registry ${this.host} requires authentication for ${method} ${strip(url)}: HTTP 401${header ? ` (${header.split(",")[0]})` : ""}${why}`, {
          hint: "give credentials: the stack's container_registry.credentials, a docker config.json login or credential helper (credHelpers, credsStore), or a containers auth.json",
        });
      }
      headers.Authorization = this.basic ?? this.auth.get(key)!;
      res = await this.send(method, url, headers, req.body, req.ok);
    }
    return res;
  }

  private resolveAuthn(): Promise<KeychainAnswer> {
    this.answer ??= this.credentials
      ? Promise.resolve({ authn: stackAuthn(this.credentials), searched: [] })
      : this.keychain
        ? this.keychain(this.host)
        : Promise.resolve({ searched: [] });
    return this.answer.then((a) => {
      if (a.authn) this.authn = a.authn;
      return a;
    });
  }

  private async send(method: string, url: string, headers: Record<string, string>, body: Uint8Array | Blob | undefined, ok: number[]): Promise<Response> {
    if (this.signal?.aborted) throw new CancelledError("Registry request cancelled");
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body, signal: this.signal, redirect: "follow" });
    } catch (e) {
      throw this.networkError(method, url, e);
    }
    if (ok.includes(res.status)) return res;
    const text = method === "HEAD" ? "" : await res.text().catch(() => "");
    const code = res.status === 401 || res.status === 403 ? "registry.unauthorized" : res.status === 404 ? "registry.not-found" : "registry.failed";
    const hint = code === "registry.unauthorized" ? (this.authn ? `check ${describeAuthn(this.authn)} and their permissions on the repository` : "give the registry credentials") : undefined;
    const errors = registryErrors(text);
    throw new RegistryError(code, `Registry ${this.host} refused ${method} ${strip(url)}: HTTP ${res.status}${errors.text}`, res.status, errors.codes, hint ? { hint } : {});
  }

  private networkError(method: string, url: string, e: unknown): Error {
    if (this.signal?.aborted) return new CancelledError("Registry request cancelled");
    const full = url.startsWith("http") ? url : `${this.base}${url}`;
    // Bun appends advice about its own `verbose` option: not useful to an imgb user.
    const why = (e as Error).message.replace(/\s*For more information, pass `verbose: true`.*$/s, "");
    const refused = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|Unable to connect|certificate|SSL|TLS/i.test(`${(e as NodeJS.ErrnoException).code ?? ""} ${why}`);
    if (!refused) {
      return new RuntimeError("registry.connection", `Registry ${this.host} dropped the connection during ${method} ${strip(full)}: ${why}`, {
        cause: e,
        hint: "the registry stopped or a proxy cut the request; nothing was tagged, so run the build again",
      });
    }
    return new RuntimeError("registry.unreachable", `Registry ${this.host} is not reachable: ${method} ${strip(full)} failed: ${why}`, {
      cause: e,
      hint: "check the registry address and that it is running; a plain-HTTP registry must be loopback or listed as insecure",
    });
  }
}

/**
 * A request the registry answered with an error status: the status and the codes of the
 * distribution spec's error body (`BLOB_UNKNOWN`, `MANIFEST_BLOB_UNKNOWN`, ...), for callers
 * that treat some of them differently (push.ts retries a manifest whose blobs a concurrent push
 * made briefly invisible).
 */
export class RegistryError extends RuntimeError {
  constructor(code: string, message: string, readonly status: number, readonly registryCodes: readonly string[], options: { hint?: string } = {}) {
    super(code, message, options);
  }
}

/** Waits (ms) before a manifest PUT refused for an unknown reference is sent again. */
const PUT_RETRIES = [50, 200, 800];

function isUnknownReference(e: unknown): e is RegistryError {
  return e instanceof RegistryError && e.status === 400 && e.registryCodes.some((c) => c === "MANIFEST_BLOB_UNKNOWN" || c === "BLOB_UNKNOWN" || c === "MANIFEST_UNKNOWN");
}

/** The distribution spec's error body: `{"errors":[{"code","message","detail"}]}`. */
function registryErrors(text: string): { text: string; codes: string[] } {
  if (text === "") return { text: "", codes: [] };
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string; detail?: unknown }[] };
    const errors = body.errors ?? [];
    const parts = errors.map((e) => `${e.code ?? "ERROR"}: ${e.message ?? ""}${e.detail ? ` (${JSON.stringify(e.detail).slice(0, 200)})` : ""}`);
    if (parts.length > 0) return { text: `: ${parts.join("; ")}`, codes: errors.map((e) => e.code ?? "ERROR") };
  } catch {
    // not JSON
  }
  return { text: `: ${text.trim().slice(0, 200)}`, codes: [] };
}

const strip = (url: string) => url.split("?")[0]!;

function verify(digest: string, hash: Bun.CryptoHasher, url: string): void {
  const actual = `sha256:${hash.digest("hex")}`;
  if (actual !== digest) throw new RuntimeError("registry.digest-mismatch", `Blob ${strip(url)} has digest ${actual}, expected ${digest}`);
}
