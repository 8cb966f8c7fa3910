import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BaseImageBuilder } from "../builder/base_image_builder.ts";
import { defaultBuildOptions } from "../builder/build_options.ts";
import type { ContextEntry, ImageBuildContext } from "../builder/build_context.ts";
import { MediaType, sha256 } from "../image/image.ts";
import type { ResolvedImage } from "../stack/model.ts";
import { baseImageDigests, forgetLocalImages, startBaseLookups, type BaseLookupCache } from "./base_images.ts";

/** A registry with one two-platform index (`multi:1`) and one single image (`single:1`); it counts GETs. */
const amd = "sha256:" + "a".repeat(64);
const arm = "sha256:" + "b".repeat(64);
const index = JSON.stringify({
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    { mediaType: MediaType.ociManifest, digest: amd, size: 1, platform: { os: "linux", architecture: "amd64" } },
    { mediaType: MediaType.ociManifest, digest: arm, size: 1, platform: { os: "linux", architecture: "arm64" } },
  ],
});
const single = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: amd, size: 1 }, layers: [] });
const requests: string[] = [];
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(req) {
    const path = new URL(req.url).pathname;
    requests.push(`${req.method} ${path}`);
    const body = path === "/v2/multi/manifests/1" ? index : path === "/v2/single/manifests/1" ? single : undefined;
    if (!body) return new Response(null, { status: 404 });
    const type = body === index ? MediaType.ociIndex : MediaType.ociManifest;
    return new Response(req.method === "HEAD" ? null : body, { headers: { "Content-Type": type, "Docker-Content-Digest": sha256(body), "Content-Length": String(body.length) } });
  },
});
afterAll(() => server.stop(true));
const host = `127.0.0.1:${server.port}`;

class NoLocalImages extends BaseImageBuilder {
  override async localImageId(): Promise<string | undefined> {
    return undefined;
  }
  async build(): Promise<string> {
    throw new Error("not built in this test");
  }
}

function contextOf(dockerfile: string): { context: ImageBuildContext; entries: ContextEntry[] } {
  const entries: ContextEntry[] = [{ path: "Dockerfile", type: "file", mode: 0o644, size: dockerfile.length, content: new TextEncoder().encode(dockerfile) }];
  return { context: { dockerfile: "Dockerfile" } as ImageBuildContext, entries };
}

const signal = new AbortController().signal;

describe("base image digests", () => {
  test("one platform: the base's own manifest digest (the index's), as before", async () => {
    const { context, entries } = contextOf(`FROM ${host}/multi:1\n`);
    const out = await baseImageDigests(context, entries, defaultBuildOptions({ platforms: ["linux/arm64"] }), new NoLocalImages({}), undefined, signal);
    expect(out).toEqual({ digests: { [`${host}/multi:1`]: sha256(index) }, unresolved: [] });
  });

  test("several platforms: each platform's manifest digest from the index, one GET per base and run; a single-manifest base counts for every platform", async () => {
    requests.length = 0;
    const { context, entries } = contextOf(`FROM ${host}/multi:1 AS a\nFROM ${host}/single:1\nCOPY --from=a /x /x\n`);
    const cache: BaseLookupCache = new Map();
    const options = defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] });
    const out = await baseImageDigests(context, entries, options, new NoLocalImages({}), undefined, signal, cache);
    expect(out.digests).toEqual({});
    expect(out.unresolved).toEqual([]);
    expect(out.platforms).toEqual({
      "linux/amd64": { [`${host}/multi:1`]: amd, [`${host}/single:1`]: sha256(single) },
      "linux/arm64": { [`${host}/multi:1`]: arm, [`${host}/single:1`]: sha256(single) },
    });
    await baseImageDigests(context, entries, options, new NoLocalImages({}), undefined, signal, cache);
    expect(requests.filter((r) => r.startsWith("GET /v2/multi/"))).toHaveLength(1);
  });

  test("several platforms: the FROM of each platform (ARG TARGETARCH) is resolved for that platform; a platform the index lacks is null", async () => {
    const { context, entries } = contextOf(`ARG TARGETARCH\nFROM ${host}/multi:1 AS arm64\nFROM ${host}/single:1 AS s390x\nFROM ${host}/multi:1 AS amd64\nFROM $TARGETARCH\n`);
    const out = await baseImageDigests(context, entries, defaultBuildOptions({ platforms: ["linux/arm64", "linux/s390x", "linux/amd64"] }), new NoLocalImages({}), undefined, signal);
    expect(out.platforms).toEqual({
      "linux/arm64": { [`${host}/multi:1`]: arm },
      "linux/s390x": { [`${host}/single:1`]: sha256(single) },
      "linux/amd64": { [`${host}/multi:1`]: amd },
    });
    const s390 = await baseImageDigests(contextOf(`FROM ${host}/multi:1\n`).context, contextOf(`FROM ${host}/multi:1\n`).entries, defaultBuildOptions({ platforms: ["linux/amd64", "linux/s390x"] }), new NoLocalImages({}), undefined, signal);
    expect(s390.platforms!["linux/s390x"]).toEqual({ [`${host}/multi:1`]: null });
  });

  test("several platforms: a base no registry knows makes the checksum machine-dependent", async () => {
    const { context, entries } = contextOf(`FROM ${host}/missing:1\n`);
    const out = await baseImageDigests(context, entries, defaultBuildOptions({ platforms: ["linux/amd64", "linux/arm64"] }), new NoLocalImages({}), undefined, signal);
    expect(out.platforms).toEqual({ "linux/amd64": { [`${host}/missing:1`]: null }, "linux/arm64": { [`${host}/missing:1`]: null } });
    expect(out.unresolved).toEqual([`base image '${host}/missing:1' cannot be resolved`]);
  });

  test("one platform: the registry and the engine are asked once per base and run, by all images at once; a build or tag drops the engine's answers", async () => {
    requests.length = 0;
    const asked: string[] = [];
    class Local extends BaseImageBuilder {
      override async localImageId(ref: string): Promise<string | undefined> {
        asked.push(ref);
        await new Promise((r) => setTimeout(r, 2));
        return "sha256:" + "c".repeat(64);
      }
      async build(): Promise<string> {
        throw new Error("not built in this test");
      }
    }
    const { context, entries } = contextOf(`FROM ${host}/single:1\n`);
    const cache: BaseLookupCache = new Map();
    const builder = new Local({ host: "unix:///one.sock" });
    const outs = await Promise.all([1, 2, 3, 4].map(() => baseImageDigests(context, entries, defaultBuildOptions({}), builder, undefined, signal, cache)));
    // Its digest reference names the same local image: not stale, so the registry's digest counts.
    for (const out of outs) expect(out).toEqual({ digests: { [`${host}/single:1`]: sha256(single) }, unresolved: [] });
    expect(requests.filter((r) => r.startsWith("HEAD /v2/single/"))).toHaveLength(1);
    expect(asked).toEqual([`${host}/single:1`, `${host}/single@${sha256(single)}`]);
    // Another engine (a builder node) has its own images.
    await baseImageDigests(context, entries, defaultBuildOptions({}), new Local({ host: "unix:///two.sock" }), undefined, signal, cache);
    expect(asked).toHaveLength(4);
    forgetLocalImages(cache);
    await baseImageDigests(context, entries, defaultBuildOptions({}), builder, undefined, signal, cache);
    expect(asked).toHaveLength(6);
    expect(requests.filter((r) => r.startsWith("HEAD /v2/single/"))).toHaveLength(1);
  });

  test("early lookups (startBaseLookups): the same requests the images' checksums make, made before the walks; the checksums then ask nothing more", async () => {
    requests.length = 0;
    const asked: string[] = [];
    class Local extends BaseImageBuilder {
      override async localImageId(ref: string): Promise<string | undefined> {
        asked.push(ref);
        return "sha256:" + "c".repeat(64);
      }
      async build(): Promise<string> {
        throw new Error("not built in this test");
      }
    }
    const image = (name: string, dockerfile: string, extra: Partial<ResolvedImage> = {}): ResolvedImage =>
      ({ name, dockerfileInline: dockerfile, buildArgs: {}, platforms: [], pull: false, ...extra }) as ResolvedImage;
    const images = [
      image("a", `ARG V=1\nFROM ${host}/single:$V\n`),
      image("b", `FROM ${host}/single:1\n`),
      image("pulled", `FROM ${host}/multi:1\n`, { pull: true }),
      image("two", `FROM ${host}/multi:1\n`, { platforms: ["linux/amd64", "linux/arm64"] }),
      image("pinned", `FROM ${host}/single@${sha256(single)}\n`),
      image("broken", "FROM\n"),
    ];
    const cache: BaseLookupCache = new Map();
    const builder = new Local({});
    startBaseLookups(images, undefined, cache, signal)(builder);
    await Promise.all([...cache.values()].map((p) => p.catch(() => {})));
    await Bun.sleep(0); // the repo@digest check follows the answers above in microtasks only (no I/O left)
    const early = [...requests];
    expect(early.sort()).toEqual(["GET /v2/multi/manifests/1", "HEAD /v2/multi/manifests/1", "HEAD /v2/single/manifests/1"]);
    // Local copies: of single-platform bases, and repo@digest where the image does not pull.
    expect(asked.sort()).toEqual([`${host}/multi:1`, `${host}/single:1`, `${host}/single@${sha256(single)}`]);

    // The images' own lookups, after their walks: answered from the cache, the same answers.
    const options = (i: ResolvedImage) => defaultBuildOptions({ platforms: i.platforms, pull: i.pull });
    const outs = await Promise.all(images.slice(0, 5).map((i) => baseImageDigests(contextOf(i.dockerfileInline!).context, contextOf(i.dockerfileInline!).entries, options(i), builder, undefined, signal, cache)));
    expect(requests.sort()).toEqual(early);
    expect(asked).toHaveLength(3);
    expect(outs[0]).toEqual({ digests: { [`${host}/single:1`]: sha256(single) }, unresolved: [] });
    expect(outs[2]).toEqual({ digests: { [`${host}/multi:1`]: sha256(index) }, unresolved: [] });
    expect(outs[3]!.platforms).toEqual({ "linux/amd64": { [`${host}/multi:1`]: amd }, "linux/arm64": { [`${host}/multi:1`]: arm } });
  });

  test("early lookups: named contexts, a Dockerfile that cannot be read, one the stack supplies as an extra file, and a FIFO start nothing (and block on nothing)", () => {
    requests.length = 0;
    const cache: BaseLookupCache = new Map();
    const dir = mkdtempSync(join(tmpdir(), "imgb-early-"));
    writeFileSync(join(dir, "Dockerfile"), `FROM ${host}/single:1\n`); // on disk, but the stack's extra file replaces it
    const fifo = join(dir, "fifo");
    Bun.spawnSync(["mkfifo", fifo]);
    const images = [
      { name: "ctx", dockerfileInline: `FROM ${host}/single:1\n`, buildArgs: {}, platforms: [], pull: false, contexts: { src: { type: "dir", path: "/x" } } },
      { name: "gone", dockerfile: "/nonexistent/imgb/Dockerfile", buildArgs: {}, platforms: [], pull: false, extraFiles: [] },
      { name: "extra", context: dir, dockerfile: join(dir, "Dockerfile"), buildArgs: {}, platforms: [], pull: false, extraFiles: [{ destination: "Dockerfile" }] },
      { name: "fifo", context: dir, dockerfile: fifo, buildArgs: {}, platforms: [], pull: false, extraFiles: [] },
    ] as unknown as ResolvedImage[];
    startBaseLookups(images, undefined, cache, signal)(new NoLocalImages({}));
    expect(cache.size).toBe(0);
    rmSync(dir, { recursive: true });
  });
});
