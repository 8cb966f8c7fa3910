/**
 * Registry records against the test registry (through a counting proxy): a hit is verified
 * with the record's one GET; forged records (another image's manifest, an embedded config that
 * is not the manifest's, a label that is not the checksum) are mismatches; old-format records
 * (the tag on the image itself) still read, with a GET of the config.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { RegistryClient } from "../image/remote/client.ts";
import { MediaType, sha256 } from "../image/image.ts";
import { REGISTRY, requireEngine, uniqueRepo } from "../../test/helpers/testenv.ts";
import { CHECKSUM_LABEL } from "./image_checksum.ts";
import { lookupRecord, recordTag, writeRecord } from "./registry_record.ts";
import { EMBEDDED_ANNOTATION } from "./_record_document.ts";

const live = new AbortController().signal;
const ready = await requireEngine("registry");

describe.skipIf(!ready)("registry records", () => {
  let requests: string[] = [];
  const proxy = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      requests.push(`${req.method} ${url.pathname.replace(/^\/v2\/.*\/(manifests|blobs)\/.*$/, "$1")}`);
      const res = await fetch(`http://${REGISTRY}${url.pathname}${url.search}`, { method: req.method, headers: req.headers, body: req.body, redirect: "manual" });
      const headers = new Headers(res.headers);
      const location = headers.get("location");
      if (location) headers.set("location", location.replace(`//${REGISTRY}`, `//${url.host}`));
      return new Response(req.method === "HEAD" ? null : res.body, { status: res.status, headers });
    },
  });
  afterAll(() => proxy.stop(true));
  const host = `127.0.0.1:${proxy.port}`;
  const registry = { uri: host, insecure: false };
  const client = new RegistryClient(host);
  const ns = uniqueRepo("records");
  const checksum = (c: string) => sha256(c);

  /** An image (no layers) whose config carries `label` as its checksum label. */
  async function pushImage(repo: string, label: string): Promise<{ digest: string; bytes: Uint8Array; config: Uint8Array }> {
    const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", config: { Labels: { [CHECKSUM_LABEL]: label } }, rootfs: { type: "layers", diff_ids: [] } }));
    await client.blobUpload(repo, sha256(config), config);
    const bytes = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: sha256(config), size: config.length }, layers: [] }));
    await client.manifestPut(repo, "latest", bytes, MediaType.ociManifest);
    return { digest: sha256(bytes), bytes, config };
  }

  test("written, then found and verified with one GET; an unknown checksum is a miss", async () => {
    const repo = `${ns}/hit`;
    const c = checksum("hit");
    const image = await pushImage(repo, c);
    await writeRecord(registry, `${host}/${repo}`, image.digest, c, live);
    requests = [];
    const found = await lookupRecord(registry, `${host}/${repo}`, c, live);
    expect(found).toMatchObject({ kind: "hit", digest: image.digest });
    if (found.kind === "hit") expect(found.manifest).toEqual({ bytes: image.bytes, mediaType: MediaType.ociManifest });
    expect(requests).toEqual(["GET manifests"]);
    expect(await lookupRecord(registry, `${host}/${repo}`, checksum("never built"), live)).toEqual({ kind: "miss" });
  });

  test("an old record (the image's manifest under the tag) still reads, with a GET of its config", async () => {
    const repo = `${ns}/old`;
    const c = checksum("old");
    const image = await pushImage(repo, c);
    await client.manifestPut(repo, recordTag(c), image.bytes, MediaType.ociManifest);
    requests = [];
    expect(await lookupRecord(registry, `${host}/${repo}`, c, live)).toMatchObject({ kind: "hit", digest: image.digest });
    expect(requests).toEqual(["GET manifests", "GET blobs"]);
  });

  test("forged records are mismatches: another image, a swapped embedded config, a corrupt embedded manifest", async () => {
    const repo = `${ns}/forged`;
    const c = checksum("wanted");
    const other = await pushImage(repo, checksum("another image"));
    // The honest record of the other image, copied under the wanted checksum's tag.
    await writeRecord(registry, `${host}/${repo}`, other.digest, checksum("another image"), live);
    const honest = await client.manifestGet(repo, recordTag(checksum("another image")));
    await client.manifestPut(repo, recordTag(c), honest.bytes, MediaType.ociIndex);
    expect(await lookupRecord(registry, `${host}/${repo}`, c, live)).toMatchObject({ kind: "mismatch", digest: other.digest, reason: `its image's ${CHECKSUM_LABEL} label is ${checksum("another image")}` });

    // The same record with a config claiming the wanted checksum embedded under the real config's digest.
    const doc = JSON.parse(new TextDecoder().decode(honest.bytes));
    const fake = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", config: { Labels: { [CHECKSUM_LABEL]: c } }, rootfs: { type: "layers", diff_ids: [] } }));
    doc.annotations[EMBEDDED_ANNOTATION] = JSON.stringify({ [sha256(other.config)]: Buffer.from(fake).toString("base64") });
    await client.manifestPut(repo, recordTag(c), new TextEncoder().encode(JSON.stringify(doc)), MediaType.ociIndex);
    const swapped = await lookupRecord(registry, `${host}/${repo}`, c, live);
    expect(swapped).toMatchObject({ kind: "mismatch", digest: other.digest });
    if (swapped.kind === "mismatch") expect(swapped.reason).toContain("cannot be read");

    // An embedded manifest that is not the one its digest names.
    doc.manifests[0].data = Buffer.from(new TextEncoder().encode("{}")).toString("base64");
    await client.manifestPut(repo, recordTag(c), new TextEncoder().encode(JSON.stringify(doc)), MediaType.ociIndex);
    expect(await lookupRecord(registry, `${host}/${repo}`, c, live)).toMatchObject({ kind: "mismatch", digest: other.digest, reason: "its embedded manifest does not match that digest" });
  });
});
