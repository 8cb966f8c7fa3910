/**
 * Multi-platform images with podman and buildah (issue #14), through the compiled binary as a
 * user runs it (`imgb build -f stack.yaml`): two platforms push ONE index whose entries are the
 * per-platform manifests. Everything is checked from the outside: the index, each manifest and
 * config as the registry serves them, and the files the RUN step wrote, read from the layer
 * blobs with GNU tar (x86_64 vs aarch64 under qemu, TARGETARCH amd64 vs arm64). A platform
 * that fails is named and leaves no tag in the registry and no local list; without a registry
 * the result is a local manifest list, and the log says so. The image format rule holds per
 * platform: a HEALTHCHECK makes Docker-format images in a Docker manifest list.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exec } from "../../src/exec.ts";
import { runImgb } from "../helpers/binary.ts";
import { E2E_TIMEOUT, MULTIARCH_BASE, PODMAN_URL, REGISTRY, requireEngine, requireTool, uniqueRepo, type EngineName } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const INDEX_ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";
const MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

// What BuildKit sets for each platform (written by hand, not derived from imgb's code).
const DOCKERFILE = `FROM ${MULTIARCH_BASE}
ARG TARGETPLATFORM
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG BUILDPLATFORM
RUN uname -m > /arch && echo "$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT|$BUILDPLATFORM" > /target
`;

interface Descriptor { mediaType: string; digest: string; platform?: { os: string; architecture: string; variant?: string } }

async function registryJson<T>(repo: string, reference: string, accept: string): Promise<{ status: number; body?: T; digest?: string }> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${reference}`, { headers: { Accept: accept } });
  if (res.status !== 200) return { status: res.status };
  return { status: 200, body: (await res.json()) as T, digest: res.headers.get("docker-content-digest") ?? undefined };
}

/** The files of a pushed image, unpacked layer by layer with GNU tar into a directory. */
async function unpackImage(repo: string, manifest: { layers: { digest: string }[] }): Promise<string> {
  const root = tempDir("imgb-mp-rootfs-");
  const blobs = tempDir("imgb-mp-blobs-");
  for (const [i, layer] of manifest.layers.entries()) {
    const res = await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${layer.digest}`);
    expect(res.status).toBe(200);
    const file = join(blobs, `layer-${i}`);
    writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
    await exec(["tar", "-xf", file, "-C", root, "--no-same-owner", "--exclude=dev/*"]);
  }
  return root;
}

function stack(c: Case, images: string, registry: boolean, files: Record<string, string>) {
  const dir = tempDir("imgb-mp-");
  const yaml = `image_builder:\n  flavor: ${c.flavor}\n${c.config ? `  config: ${c.config}\n` : ""}${registry ? `container_registry:\n  uri: ${REGISTRY}\n` : ""}images:\n${images}`;
  writeTree(dir, { "stack.yaml": yaml, ...files });
  const home = tempDir("imgb-mp-home-");
  return { dir, build: (args: string[] = []) => runImgb(["build", "-f", "stack.yaml", "--progress", "plain", ...args], { cwd: dir, env: { IMGB_HOME: home, NO_COLOR: "1" } }) };
}

/** Removes a local manifest list and the per-platform images it lists, and those of `earlier` (matched by manifest digest). */
async function removeLocalList(engine: string, name: string, earlier: readonly string[] = []): Promise<void> {
  const listed = await exec([engine, "manifest", "inspect", name]).catch(() => undefined);
  const digests = [...earlier, ...(listed ? ((JSON.parse(listed.stdout) as { manifests: Descriptor[] }).manifests ?? []).map((m) => m.digest) : [])];
  await exec([engine, "manifest", "rm", name]).catch(() => {});
  const images = (await listImages()).split("\n");
  for (const line of images) {
    const [id, digest] = line.split(" ");
    if (id && digest && digests.includes(digest)) await exec(["podman", "rmi", "--force", id]).catch(() => {});
  }
}

/** `podman images`, retried: it fails when another suite removes an image while it lists them. */
async function listImages(attempts = 5): Promise<string> {
  for (let i = 1; ; i++) {
    try {
      return (await exec(["podman", "images", "--no-trunc", "--format", "{{.ID}} {{.Digest}}"])).stdout;
    } catch (e) {
      if (i >= attempts) throw e;
    }
  }
}

/**
 * Removes from podman's storage the images behind every tag of `repo` in the registry (an
 * index's entries, a helper tag's manifest): with a registry nothing names them locally.
 */
async function removePushedImages(repo: string): Promise<void> {
  const tags = await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`).then((r) => (r.ok ? (r.json() as Promise<{ tags: string[] | null }>) : { tags: [] }));
  const configs = new Set<string>();
  const visit = async (ref: string): Promise<void> => {
    const got = await registryJson<{ manifests?: Descriptor[]; config?: { digest: string } }>(repo, ref, `${INDEX_ACCEPT}, ${MANIFEST_ACCEPT}`).catch(() => undefined);
    if (got?.body?.config) configs.add(got.body.config.digest.replace(/^sha256:/, ""));
    for (const m of got?.body?.manifests ?? []) await visit(m.digest);
  };
  for (const t of tags.tags ?? []) await visit(t);
  if (configs.size > 0) await exec(["podman", "rmi", "--force", ...configs]).catch(() => {});
}

async function removeFromRegistry(repo: string, digests: readonly string[]): Promise<void> {
  for (const d of digests) await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${d}`, { method: "DELETE" }).catch(() => {});
}

const haveTar = await requireTool("tar");

interface Case { label: string; needs: EngineName; flavor: "podman" | "buildah"; config?: string }
const cases: Case[] = [
  { label: "podman", needs: "podman", flavor: "podman" },
  // `podman --remote` has no push --digestfile: the index digest comes from the registry.
  { label: "podman service", needs: "podman-service", flavor: "podman", config: `{ url: "${PODMAN_URL}" }` },
  { label: "buildah", needs: "buildah", flavor: "buildah" },
];

for (const c of cases) {
  const flavor = c.flavor;
  describe.skipIf(!(await requireEngine(c.needs, "registry")) || !haveTar)(`${c.label}: multi-platform images`, () => {
    test("two platforms push one index: each entry's manifest, config and RUN output are that platform's; the metadata lists both", async () => {
      const repo = uniqueRepo(`mp-${c.label.replace(/\W/g, "-")}`);
      const s = stack(c, `  ${repo}:\n    context: .\n    network: none\n    platforms: [linux/amd64, linux/arm64]\n    tags: [latest, v1]\n`, true, { Dockerfile: DOCKERFILE });
      const r = await s.build(["--metadata-file", "meta.json"]);
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      const ref = r.stdout.trim();
      const index = await registryJson<{ mediaType: string; manifests: Descriptor[] }>(repo, "latest", INDEX_ACCEPT);
      try {
        expect(ref).toBe(`${REGISTRY}/${repo}@${index.digest}`);
        expect((await registryJson(repo, "v1", INDEX_ACCEPT)).digest).toBe(index.digest!); // every tag: the same index
        expect(index.body!.mediaType).toBe("application/vnd.oci.image.index.v1+json");
        expect(index.body!.manifests.map((m) => m.platform)).toEqual([{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }]);

        const seen: Record<string, { architecture: string; arch: string; target: string }> = {};
        for (const entry of index.body!.manifests) {
          expect(entry.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
          const manifest = await registryJson<{ config: { digest: string }; layers: { digest: string }[] }>(repo, entry.digest, MANIFEST_ACCEPT);
          expect(manifest.digest).toBe(entry.digest);
          const config = (await (await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${manifest.body!.config.digest}`)).json()) as { architecture: string; os: string };
          expect(config.os).toBe("linux");
          const rootfs = await unpackImage(repo, manifest.body!);
          seen[entry.platform!.architecture] = { architecture: config.architecture, arch: readFileSync(join(rootfs, "arch"), "utf8"), target: readFileSync(join(rootfs, "target"), "utf8") };
        }
        expect(seen).toEqual({
          amd64: { architecture: "amd64", arch: "x86_64\n", target: "linux/amd64|linux|amd64||linux/amd64\n" },
          arm64: { architecture: "arm64", arch: "aarch64\n", target: "linux/arm64|linux|arm64||linux/amd64\n" },
        });

        const meta = JSON.parse(readFileSync(join(s.dir, "meta.json"), "utf8"))[repo];
        expect(meta).toMatchObject({ ref, digest: index.digest });
        expect(meta.platforms).toEqual({ "linux/amd64": index.body!.manifests[0]!.digest, "linux/arm64": index.body!.manifests[1]!.digest });
        // No engine warning about the declared TARGETVARIANT/BUILDPLATFORM (a podman service's build platform is its own: not passed).
        expect(r.stderr.includes('missing \\"TARGETVARIANT\\" build argument')).toBe(false);
        if (c.config === undefined) expect(r.stderr.includes('missing \\"BUILDPLATFORM\\" build argument')).toBe(false);
        expect(r.stderr).toContain(`Pushed the OCI index ${REGISTRY}/${repo}@${index.digest} (linux/amd64, linux/arm64) to ${REGISTRY}/${repo}:latest, ${REGISTRY}/${repo}:v1`);
      } finally {
        await removePushedImages(repo);
        await removeLocalList(flavor, `${REGISTRY}/${repo}:latest`);
        await exec([flavor, "rmi", `${REGISTRY}/${repo}:v1`]).catch(() => {});
        await removeFromRegistry(repo, [index.digest ?? "", ...(index.body?.manifests ?? []).map((m) => m.digest)]);
      }
    }, E2E_TIMEOUT);

    test("a builder stage FROM --platform=$BUILDPLATFORM runs natively, and each platform's image is on its own platform's base (podman 4.3/buildah 1.28 alone would give the arm64 image the amd64 base)", async () => {
      const repo = uniqueRepo(`mp-cross-${c.label.replace(/\W/g, "-")}`);
      const dockerfile = `FROM --platform=$BUILDPLATFORM ${MULTIARCH_BASE} AS build\nARG TARGETARCH\nRUN echo "$(uname -m) for $TARGETARCH" > /out\nFROM ${MULTIARCH_BASE}\nCOPY --from=build /out /out\n`;
      const s = stack(c, `  ${repo}:\n    context: .\n    network: none\n    platforms: [linux/amd64, linux/arm64]\n`, true, { Dockerfile: dockerfile });
      const r = await s.build();
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      const index = await registryJson<{ manifests: Descriptor[] }>(repo, "latest", INDEX_ACCEPT);
      try {
        const seen: Record<string, { out: string; busybox: number }> = {};
        for (const entry of index.body!.manifests) {
          const manifest = await registryJson<{ layers: { digest: string }[] }>(repo, entry.digest, MANIFEST_ACCEPT);
          const rootfs = await unpackImage(repo, manifest.body!);
          // ELF e_machine: 0x3e x86-64, 0xb7 aarch64.
          seen[entry.platform!.architecture] = { out: readFileSync(join(rootfs, "out"), "utf8"), busybox: readFileSync(join(rootfs, "bin/busybox"))[18]! };
        }
        const builder = c.config === undefined ? "x86_64" : seen.amd64?.out.split(" ")[0]; // a podman service: its own build platform
        expect(seen).toEqual({ amd64: { out: `${builder} for amd64\n`, busybox: 0x3e }, arm64: { out: `${builder} for arm64\n`, busybox: 0xb7 } });
        if (c.config === undefined) expect(r.stderr).toContain("for linux/amd64 pinned to 127.0.0.1:5000/imgb-test/busybox-multi@sha256:");
      } finally {
        await removePushedImages(repo);
        await removeFromRegistry(repo, [index.digest ?? "", ...(index.body?.manifests ?? []).map((m) => m.digest)]);
      }
    }, E2E_TIMEOUT);

    test("HEALTHCHECK: every platform is built in Docker format and pushed as a Docker manifest list that keeps it", async () => {
      const repo = uniqueRepo(`mp-docker-${c.label.replace(/\W/g, "-")}`);
      const s = stack(c, `  ${repo}:\n    context: .\n    network: none\n    platforms: [linux/amd64, linux/arm64]\n`, true, { Dockerfile: `FROM ${MULTIARCH_BASE}\nHEALTHCHECK --interval=5s CMD true\nCOPY a /a\n`, a: "a\n" });
      const r = await s.build();
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      const index = await registryJson<{ mediaType: string; manifests: Descriptor[] }>(repo, "latest", INDEX_ACCEPT);
      try {
        expect(r.stdout.trim()).toBe(`${REGISTRY}/${repo}@${index.digest}`);
        expect(index.body!.mediaType).toBe("application/vnd.docker.distribution.manifest.list.v2+json");
        expect(index.body!.manifests.map((m) => [m.mediaType, m.platform?.architecture])).toEqual([
          ["application/vnd.docker.distribution.manifest.v2+json", "amd64"],
          ["application/vnd.docker.distribution.manifest.v2+json", "arm64"],
        ]);
        for (const entry of index.body!.manifests) {
          const manifest = await registryJson<{ config: { digest: string } }>(repo, entry.digest, MANIFEST_ACCEPT);
          const config = (await (await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${manifest.body!.config.digest}`)).json()) as { architecture: string; config: { Healthcheck?: { Test: string[] } } };
          expect([config.architecture, config.config.Healthcheck?.Test]).toEqual([entry.platform!.architecture, ["CMD-SHELL", "true"]]);
        }
      } finally {
        await removePushedImages(repo);
        await removeLocalList(flavor, `${REGISTRY}/${repo}:latest`);
        await removeFromRegistry(repo, [index.digest ?? "", ...(index.body?.manifests ?? []).map((m) => m.digest)]);
      }
    }, E2E_TIMEOUT);

    test("annotations: on every platform's manifest and on the index", async () => {
      const repo = uniqueRepo(`mp-annot-${c.label.replace(/\W/g, "-")}`);
      const images = `  ${repo}:\n    context: .\n    network: none\n    platforms: [linux/amd64, linux/arm64]\n    tags: [latest, v1]\n    annotations:\n      org.opencontainers.image.source: https://example.com/app\n      org.example.b: two\n`;
      const s = stack(c, images, true, { Dockerfile: `FROM ${MULTIARCH_BASE}\nCOPY a /a\n`, a: "a\n" });
      const r = await s.build(["--metadata-file", "meta.json"]);
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      const index = await registryJson<{ annotations?: Record<string, string>; manifests: Descriptor[] }>(repo, "latest", INDEX_ACCEPT);
      try {
        const expected = { "org.example.b": "two", "org.opencontainers.image.source": "https://example.com/app" };
        expect(r.stdout.trim()).toBe(`${REGISTRY}/${repo}@${index.digest}`);
        expect((await registryJson(repo, "v1", INDEX_ACCEPT)).digest).toBe(index.digest!);
        expect(JSON.parse(readFileSync(join(s.dir, "meta.json"), "utf8"))[repo].digest).toBe(index.digest);
        expect(index.body!.annotations).toEqual(expected);
        expect(index.body!.manifests.map((m) => m.platform?.architecture)).toEqual(["amd64", "arm64"]);
        for (const entry of index.body!.manifests) {
          const manifest = await registryJson<{ annotations?: Record<string, string> }>(repo, entry.digest, MANIFEST_ACCEPT);
          expect(manifest.body!.annotations).toMatchObject(expected);
        }
      } finally {
        await removePushedImages(repo);
        await removeLocalList(flavor, `${REGISTRY}/${repo}:latest`);
        await exec([flavor, "rmi", `${REGISTRY}/${repo}:v1`]).catch(() => {});
        await removeFromRegistry(repo, [index.digest ?? "", ...(index.body?.manifests ?? []).map((m) => m.digest)]);
      }
    }, E2E_TIMEOUT);

    test("one platform fails: the error names linux/arm64, the registry has no tag of the image (a platform pushed first: its helper tag only), no local list is left", async () => {
      const repo = uniqueRepo(`mp-fail-${c.label.replace(/\W/g, "-")}`);
      const s = stack(c, `  ${repo}:\n    context: .\n    network: none\n    platforms: [linux/amd64, linux/arm64]\n`, true, { Dockerfile: `FROM ${MULTIARCH_BASE}\nRUN [ "$(uname -m)" = x86_64 ]\n` });
      const r = await s.build();
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(`Build of image '${repo}:latest' for linux/arm64 failed: a build step (RUN [ "$(uname -m)" = x86_64 ]) exited with code 1`);
      expect(r.stdout).toBe("");
      expect((await registryJson(repo, "latest", INDEX_ACCEPT)).status).toBe(404);
      const tags = await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`);
      const listed = tags.status === 404 ? [] : (((await tags.json()) as { tags: string[] | null }).tags ?? []);
      expect(listed.filter((t) => t !== "imgb-platform-linux-amd64")).toEqual([]);
      const list = await exec(["podman", "image", "exists", `${REGISTRY}/${repo}:latest`]).then(() => "exists", () => "gone");
      expect(list).toBe("gone");
      await removePushedImages(repo);
    }, E2E_TIMEOUT);

    test("one platform fails while the other still runs: that build is stopped (no RUN process left), the failure is the one named", async () => {
      const repo = uniqueRepo(`mp-stop-${c.label.replace(/\W/g, "-")}`);
      // amd64 would take long; arm64 fails at once: the failure stops the amd64 build.
      const sleep = `sleep ${100 + Math.floor(Math.random() * 900)}`;
      const dockerfile = `FROM ${MULTIARCH_BASE}\nRUN if [ "$(uname -m)" = x86_64 ]; then ${sleep}; else echo "only on x86_64, not $(uname -m)"; exit 7; fi\n`;
      const s = stack(c, `  ${repo}:\n    context: .\n    network: none\n    platforms: [linux/amd64, linux/arm64]\n`, true, { Dockerfile: dockerfile });
      const started = Date.now();
      const r = await s.build();
      expect(r.code).not.toBe(0);
      const slow = Date.now() - started >= 60_000; // the sleep runs 100 s or more
      expect({ slow, stderr: slow ? r.stderr : "" }).toEqual({ slow: false, stderr: "" });
      const line = r.stderr.split("\n").find((l) => l.includes("Build of image"));
      expect(line).toContain(`Build of image '${repo}:latest' for linux/arm64 failed: a build step`);
      expect(line).toContain("exited with code 7");
      expect(r.stderr).toContain("only on x86_64, not aarch64");
      expect(r.stderr).toContain("[linux/amd64] stopped: another platform failed");
      expect(r.stderr).not.toContain("for linux/amd64 failed");
      const running = async () => (await exec(["ps", "-eo", "pid=,args="])).stdout.split("\n").filter((l) => l.includes(sleep));
      if (c.config === undefined) expect(await running()).toEqual([]);
      else {
        // A podman service goes on with a build whose client went away (podman 4.3 has no way to
        // cancel it): the stopped amd64 build runs on there, to an untagged image, and may reach
        // its RUN only now. Ended here so that it does not sleep for minutes on the shared machine.
        for (let i = 0; i < 20; i++) {
          for (const l of await running()) process.kill(Number(l.trim().split(" ")[0]), "SIGKILL"); // PID 1 of its container: SIGTERM is ignored
          await Bun.sleep(500);
        }
      }
      expect((await registryJson(repo, "latest", INDEX_ACCEPT)).status).toBe(404);
      const list = await exec(["podman", "image", "exists", `${REGISTRY}/${repo}:latest`]).then(() => "exists", () => "gone");
      expect(list).toBe("gone");
      await removePushedImages(repo);
    }, E2E_TIMEOUT);

    test("exec format error: the failing platform and what to check, not the engine's bare message", async () => {
      // An ELF header for s390x: no emulator is registered for it here, on any platform. Only the
      // arm64 build runs it: the platforms build at once, and a native amd64 failure would come
      // first and stop the arm64 build.
      const elf = new Uint8Array(64);
      elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 2, 1, 0], 0);
      elf.set([0, 2, 0, 0x16, 0, 0, 0, 1], 16);
      const repo = uniqueRepo(`mp-exec-${c.label.replace(/\W/g, "-")}`);
      const s = stack(c, `  ${repo}:\n    context: .\n    network: none\n    platforms: [linux/arm64, linux/amd64]\n`, true, { Dockerfile: `ARG TARGETARCH\nFROM ${MULTIARCH_BASE} AS run-amd64\nFROM ${MULTIARCH_BASE} AS run-arm64\nCOPY --chmod=755 bogus /bogus\nRUN ["/bogus"]\nFROM run-\${TARGETARCH}\n` });
      writeFileSync(join(s.dir, "bogus"), elf);
      const r = await s.build();
      expect(r.code).not.toBe(0);
      const where = c.config === undefined ? "an emulator for linux/arm64 is registered here, so the program itself is not built for linux/arm64" : "the engine's machine needs an emulator for linux/arm64";
      expect(r.stderr).toContain(`Build of image '${repo}:latest' for linux/arm64 failed: a RUN step could not start its program (exec format error): ${where}`);
      expect((await registryJson(repo, "latest", INDEX_ACCEPT)).status).toBe(404);
    }, E2E_TIMEOUT);

    test("without a registry: a local manifest list named after the image, and the log says so", async () => {
      const name = uniqueRepo(`mp-local-${c.label.replace(/\W/g, "-")}`);
      const s = stack(c, `  ${name}:\n    context: .\n    network: none\n    platforms: [linux/amd64, linux/arm64]\n`, false, { Dockerfile: "FROM scratch\nCOPY hello /hello\n", hello: "hi\n" });
      const r = await s.build(["--metadata-file", "meta.json"]);
      const local = `localhost/${name}:latest`;
      const earlier: string[] = [];
      try {
        expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
        expect(r.stdout.trim()).toBe(`${name}:latest`);
        expect(r.stderr).toContain(`Built linux/amd64, linux/arm64 into the local manifest list '${name}:latest' (nothing pushed: the stack has no container_registry); see it with: ${flavor} manifest inspect ${name}:latest`);
        const list = JSON.parse((await exec(["podman", "manifest", "inspect", local])).stdout) as { manifests: Descriptor[] };
        earlier.push(...list.manifests.map((m) => m.digest));
        expect(list.manifests.map((m) => m.platform)).toEqual([{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }]);
        const meta = JSON.parse(readFileSync(join(s.dir, "meta.json"), "utf8"))[name];
        expect(meta.platforms).toEqual({ "linux/amd64": list.manifests[0]!.digest, "linux/arm64": list.manifests[1]!.digest });
        // Built again: the list is replaced, not extended with a second pair of entries.
        writeFileSync(join(s.dir, "hello"), "changed\n");
        const again = await s.build();
        expect(again.code).toBe(0);
        const relisted = JSON.parse((await exec(["podman", "manifest", "inspect", local])).stdout) as { manifests: Descriptor[] };
        expect(relisted.manifests.map((m) => m.platform?.architecture)).toEqual(["amd64", "arm64"]);
        expect(relisted.manifests[0]!.digest).not.toBe(list.manifests[0]!.digest);
      } finally {
        await removeLocalList(flavor, local, earlier);
      }
    }, 2 * E2E_TIMEOUT); // two builds
  });
}
