import { afterAll, expect, test } from "bun:test";
import type { BaseImageBuilder } from "../builder/base_image_builder.ts";
import { retag, startTagHeads, type TagHeads } from "./retag.ts";

const digest = (c: string) => `sha256:${c.repeat(64)}`;
/** A registry whose tags point where `tags` says; every request is logged. */
const tags = new Map<string, string>();
const requests: string[] = [];
let failHeads = 0;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const path = new URL(req.url).pathname;
    requests.push(`${req.method} ${path}`);
    const tag = path.split("/manifests/")[1]!;
    if (req.method === "HEAD") {
      if (failHeads > 0 && failHeads--) return new Response(null, { status: 500 });
      const d = tags.get(tag);
      return d ? new Response(null, { status: 200, headers: { "docker-content-digest": d, "content-type": "application/vnd.oci.image.manifest.v1+json" } }) : new Response(null, { status: 404 });
    }
    if (req.method === "PUT") {
      tags.set(tag, digest("a"));
      return new Response(null, { status: 201, headers: { "docker-content-digest": digest("a") } });
    }
    return new Response(null, { status: 405 });
  },
});
afterAll(() => server.stop(true));

const registry = { uri: `127.0.0.1:${server.port}/ns`, insecure: true };
const rec = { checksum: digest("c"), image: "app", ref: `127.0.0.1:${server.port}/ns/app@${digest("a")}`, digest: digest("a"), builtAt: "" };
const fetched = { bytes: new TextEncoder().encode("{}"), mediaType: "application/vnd.oci.image.manifest.v1+json" };
const builder = {} as BaseImageBuilder;
const destinations = [`127.0.0.1:${server.port}/ns/app:v1`, `127.0.0.1:${server.port}/ns/app:v2`];
const signal = new AbortController().signal;
const settle = async (heads: TagHeads) => void (await Promise.allSettled(heads.values()));

test("early HEADs answer retag: a tag already in place is neither asked again nor written; one elsewhere is written", async () => {
  tags.clear();
  tags.set("v1", digest("a"));
  tags.set("v2", digest("b"));
  const heads: TagHeads = new Map();
  startTagHeads(registry, destinations, heads, signal);
  await settle(heads);
  requests.length = 0;
  await retag(rec, destinations, builder, registry, signal, fetched, heads);
  expect(requests).toEqual(["PUT /v2/ns/app/manifests/v2"]);
  expect(heads.size).toBe(0); // each answer used once
});

test("an early HEAD that failed is asked again", async () => {
  tags.clear();
  tags.set("v1", digest("a"));
  tags.set("v2", digest("a"));
  failHeads = 2;
  const heads: TagHeads = new Map();
  startTagHeads(registry, destinations, heads, signal);
  await settle(heads);
  requests.length = 0;
  await retag(rec, destinations, builder, registry, signal, fetched, heads);
  expect(requests).toEqual(["HEAD /v2/ns/app/manifests/v1", "HEAD /v2/ns/app/manifests/v2"]);
});
