import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assembleImage } from "../built_image.ts";
import { MediaType, sha256 } from "../image.ts";
import { RegistryError } from "./client.ts";
import { pushImages } from "./push.ts";
import { Registries } from "./registries.ts";

/**
 * A registry that, like the reference registry while another push links the same blobs into the
 * repository, briefly does not see a blob it has: the first `lose` manifest PUTs answer 400
 * DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN for the config.
 */
function flakyRegistry(lose: number, { brokenLink = false } = {}) {
  const blobs = new Map<string, Uint8Array>();
  /** Blobs whose HEAD answers 500 until they are uploaded again (the registry's link left empty by a crash). */
  const broken = new Set<string>();
  const manifests = new Map<string, Uint8Array>();
  const requests: string[] = [];
  let lost = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      requests.push(`${req.method} ${url.pathname}`);
      if (url.pathname.endsWith("/blobs/uploads/") && req.method === "POST") return new Response(null, { status: 202, headers: { Location: "/upload/1" } });
      if (url.pathname.startsWith("/upload/") && req.method === "PUT") {
        blobs.set(url.searchParams.get("digest")!, new Uint8Array(await req.arrayBuffer()));
        broken.delete(url.searchParams.get("digest")!);
        return new Response(null, { status: 201 });
      }
      const m = url.pathname.match(/^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/);
      if (m?.[2] === "blobs" && brokenLink && !blobs.has(m[3]!)) broken.add(m[3]!);
      if (m?.[2] === "blobs") return new Response(null, { status: broken.has(m[3]!) ? 500 : blobs.has(m[3]!) ? 200 : 404 });
      if (m?.[2] === "manifests" && req.method === "PUT") {
        const bytes = new Uint8Array(await req.arrayBuffer());
        const missing = (JSON.parse(new TextDecoder().decode(bytes)) as { config: { digest: string } }).config.digest;
        if (lost++ < lose || !blobs.has(missing) || broken.has(missing)) return Response.json({ errors: [{ code: "DIGEST_INVALID", message: "provided digest did not match uploaded content" }, { code: "MANIFEST_BLOB_UNKNOWN", message: "blob unknown to registry", detail: missing }] }, { status: 400 });
        manifests.set(m[3]!, bytes);
        return new Response(null, { status: 201, headers: { "Docker-Content-Digest": sha256(bytes) } });
      }
      return new Response(null, { status: 404 });
    },
  });
  return { server, host: `127.0.0.1:${server.port}`, requests, manifests };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function image() {
  const layer = new TextEncoder().encode("layer bytes");
  const descriptor = { mediaType: MediaType.ociLayer, digest: sha256(layer), size: layer.length };
  return assembleImage({ architecture: "amd64", os: "linux", config: {}, rootfs: { type: "layers", diff_ids: [descriptor.digest] } }, [{ descriptor, bytes: layer }], { os: "linux", architecture: "amd64" });
}

function registries(host: string) {
  const blobDir = mkdtempSync(join(tmpdir(), "imgb-push-"));
  dirs.push(blobDir);
  return new Registries({ registry: { uri: `${host}/ns`, insecure: true }, insecureRegistries: [], signal: new AbortController().signal, log: () => {}, blobDir });
}

describe("pushImages against a registry that briefly does not see a blob (a concurrent push of the same blobs)", () => {
  test("the manifest PUT is asked again, and the push succeeds", async () => {
    const reg = flakyRegistry(2);
    try {
      const img = image();
      const digest = await pushImages(registries(reg.host), { host: reg.host, repository: "ns/app", tags: ["v1", "v2"] }, [img], undefined, () => {});
      expect(digest).toBe(img.manifest.descriptor.digest);
      expect([...reg.manifests.keys()].sort()).toEqual(["v1", "v2"]);
      expect(reg.requests.filter((r) => r === "PUT /v2/ns/app/manifests/v1")).toHaveLength(3);
      expect(reg.requests.filter((r) => r === "PUT /v2/ns/app/manifests/v2")).toHaveLength(1);
    } finally {
      reg.server.stop(true);
    }
  });

  test("a refusal that persists fails after the retries, with the registry's answer", async () => {
    const reg = flakyRegistry(100);
    try {
      const err = await pushImages(registries(reg.host), { host: reg.host, repository: "ns/app", tags: ["v1"] }, [image()], undefined, () => {}).catch((e) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).message).toContain("MANIFEST_BLOB_UNKNOWN");
      expect((err as RegistryError).message).toContain("(asked 4 times over 1050 ms)");
      expect(reg.requests.filter((r) => r === "PUT /v2/ns/app/manifests/v1")).toHaveLength(4);
      expect(reg.manifests.size).toBe(0);
    } finally {
      reg.server.stop(true);
    }
  });
});

describe("pushImages against a registry that cannot say whether it has a blob (HTTP 500 on HEAD)", () => {
  test("the blob is uploaded, which mends the registry, and the push succeeds with a line saying so", async () => {
    const reg = flakyRegistry(0, { brokenLink: true });
    const lines: string[] = [];
    try {
      const img = image();
      const digest = await pushImages(registries(reg.host), { host: reg.host, repository: "ns/app", tags: ["v1"] }, [img], undefined, (l) => lines.push(l));
      expect(digest).toBe(img.manifest.descriptor.digest);
      expect(reg.manifests.has("v1")).toBe(true);
      const layer = img.layers[0]!.descriptor.digest;
      expect(reg.requests).toContain(`PUT /upload/1`);
      expect(lines.some((l) => l.startsWith(`cannot tell whether ${reg.host} has ${layer.slice(7, 19)}`) && l.includes("HTTP 500") && l.endsWith("uploading it"))).toBe(true);
    } finally {
      reg.server.stop(true);
    }
  });
});
