/**
 * docker flavor, several platforms (issue #14), through the compiled binary against the test
 * dockerd (docker 20.10: one platform per `docker build`) and registry: imgb builds each
 * platform, pushes it, and PUTs one index under the requested tags. Everything is checked from
 * the outside: the index and manifests as the registry serves them, each platform's config, and
 * /arch and /targets read out of the layer blobs with GNU tar; the metadata file; reuse (local
 * record, then the registry record from a fresh home, re-pointing a moved tag at the index).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MANIFEST_ACCEPT, MediaType } from "../../src/image/image.ts";
import { exec } from "../../src/exec.ts";
import { runImgb } from "../helpers/binary.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, MULTIARCH_BASE, processesLeft, REGISTRY, registryDigest, requireEngine, requireTool, uniqueRepo } from "../helpers/testenv.ts";
import { canRun } from "../../src/emulation.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

/** Local references the tests made (single-platform builds tag locally; fixtures imported): removed at the end. */
const localRefs: string[] = [];
// The classic builder pulls its base into the daemon (--pull): the shared base goes again if it was not there before.
beforeAll(async () => {
  if (!(await localImageExists(MULTIARCH_BASE))) localRefs.push(MULTIARCH_BASE);
});
afterAll(async () => {
  for (const ref of localRefs) await exec([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", ref]).catch(() => {});
  cleanupTempDirs();
}, E2E_TIMEOUT);

const TARGETS_DOCKERFILE = `FROM ${MULTIARCH_BASE}
ARG TARGETPLATFORM
ARG TARGETOS
ARG TARGETARCH
ARG TARGETVARIANT
ARG BUILDPLATFORM
RUN uname -m > /arch && echo "$TARGETPLATFORM $TARGETOS $TARGETARCH [$TARGETVARIANT] $BUILDPLATFORM" > /targets
`;

interface Stack {
  dir: string;
  ns: string;
  repo: string;
  home: string;
  write(platforms: string[], opts?: { builder?: string; dockerfile?: string; registry?: boolean }): void;
  build(home?: string): Promise<{ code: number; stdout: string; stderr: string; meta: Meta }>;
}

type Meta = Record<string, { ref: string; digest: string | null; imageId: string | null; platforms?: Record<string, string>; checksum: string; reused: boolean }>;

function stack(): Stack {
  const dir = tempDir("imgb-mpd-");
  const ns = uniqueRepo("mpd");
  const s: Stack = {
    dir,
    ns,
    repo: `${ns}/app`,
    home: tempDir("imgb-mpd-home-"),
    write(platforms, opts = {}) {
      const registry = opts.registry === false ? "" : `container_registry: { uri: ${REGISTRY}/${ns} }\n`;
      writeTree(dir, {
        "imgb.yaml": `image_builder: { flavor: docker, config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}", builder: ${opts.builder ?? "buildkit"} } }\n${registry}images:\n  app: { context: ctx, network: none, tags: [latest, v1], platforms: [${platforms.join(", ")}] }\n`,
        "ctx/Dockerfile": opts.dockerfile ?? TARGETS_DOCKERFILE,
      });
    },
    async build(home = s.home) {
      const metaFile = join(home, "meta.json");
      writeFileSync(metaFile, "{}");
      const r = await runImgb(["build", "--progress", "plain", "--metadata-file", metaFile], { cwd: dir, env: { IMGB_HOME: home, NO_COLOR: "1" } });
      return { ...r, meta: JSON.parse(readFileSync(metaFile, "utf8")) as Meta };
    },
  };
  return s;
}

/** A manifest or index as the registry serves it. */
async function manifest(repo: string, reference: string): Promise<{ mediaType: string; doc: any }> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
  if (res.status !== 200) throw new Error(`${repo}:${reference}: HTTP ${res.status}`);
  return { mediaType: (res.headers.get("content-type") ?? "").split(";")[0]!, doc: await res.json() };
}

async function blob(repo: string, digest: string): Promise<Uint8Array> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200) throw new Error(`blob ${digest}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function tags(repo: string): Promise<string[]> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`);
  if (res.status === 404) return [];
  return ((await res.json()) as { tags?: string[] | null }).tags ?? [];
}

/** `name` (e.g. `arch`) from the last layer of the image that has it, read by GNU tar. */
async function fileInImage(repo: string, manifestDigest: string, name: string): Promise<string> {
  const { doc } = await manifest(repo, manifestDigest);
  const dir = tempDir("imgb-mpd-layer-");
  let found: string | undefined;
  for (const [i, layer] of (doc.layers as { digest: string }[]).entries()) {
    const file = join(dir, `layer-${i}.tgz`);
    writeFileSync(file, await blob(repo, layer.digest));
    const entries = (await exec(["tar", "-tzf", file])).stdout.split("\n");
    const entry = entries.find((e) => e === name || e === `./${name}`);
    if (entry) found = (await exec(["tar", "-xzOf", file, entry])).stdout;
  }
  if (found === undefined) throw new Error(`/${name} is in no layer of ${repo}@${manifestDigest}`);
  return found;
}

async function localImageExists(ref: string): Promise<boolean> {
  return exec([DOCKER_CLI, "-H", DOCKER_HOST, "image", "inspect", ref]).then(
    () => true,
    () => false,
  );
}

const EXPECTED = {
  "linux/amd64": { arch: "x86_64", targets: "linux/amd64 linux amd64 [] linux/amd64" },
  "linux/arm64": { arch: "aarch64", targets: "linux/arm64 linux arm64 [] linux/amd64" },
} as const;

/** The index under `tag` lists exactly these platforms, each entry's config agrees, and each image's files are its platform's. */
async function checkIndex(s: Stack, tag: string, meta: Meta["app"]) {
  const index = await manifest(s.repo, tag);
  expect(index.mediaType).toBe(MediaType.dockerList); // docker pushes schema 2 manifests: a Docker manifest list over them, as buildx makes
  expect(await registryDigest(REGISTRY, s.repo, tag)).toBe(meta.digest!);
  const entries = index.doc.manifests as { mediaType: string; digest: string; size: number; platform: { os: string; architecture: string; variant?: string } }[];
  expect(entries.map((e) => e.platform)).toEqual([
    { architecture: "amd64", os: "linux" },
    { architecture: "arm64", os: "linux" },
  ]);
  expect(meta.platforms).toEqual({ "linux/amd64": entries[0]!.digest, "linux/arm64": entries[1]!.digest });
  for (const [i, platform] of (["linux/amd64", "linux/arm64"] as const).entries()) {
    const entry = entries[i]!;
    expect(entry.mediaType).toBe(MediaType.dockerManifest);
    const m = await manifest(s.repo, entry.digest);
    const config = JSON.parse(new TextDecoder().decode(await blob(s.repo, m.doc.config.digest)));
    expect(`${config.os}/${config.architecture}`).toBe(platform);
    expect(config.config.Labels["dev.imgb.checksum"]).toBe(meta.checksum);
    expect((await fileInImage(s.repo, entry.digest, "arch")).trim()).toBe(EXPECTED[platform].arch);
    expect((await fileInImage(s.repo, entry.digest, "targets")).trim()).toBe(EXPECTED[platform].targets);
  }
}

const ready = await requireEngine("docker", "registry", "auth-registry");

describe.skipIf(!ready)("docker flavor: several platforms into one index", () => {
  for (const builder of ["buildkit", "classic"]) {
    test(`${builder}: two platforms pushed as one index under every tag; each image is its platform's; unchanged rebuild reused, also from the registry record`, async () => {
      const s = stack();
      s.write(["linux/amd64", "linux/arm64"], { builder });
      const first = await s.build();
      expect(first.stderr).not.toContain("error:");
      expect(first.code).toBe(0);
      const meta = first.meta.app!;
      expect(first.stdout.trim()).toBe(`${REGISTRY}/${s.repo}@${meta.digest}`);
      expect(meta.reused).toBe(false);
      await checkIndex(s, "latest", meta);
      await checkIndex(s, "v1", meta);
      // The helper tags of the platform pushes are gone from the daemon.
      expect(await localImageExists(`${REGISTRY}/${s.repo}:imgb-platform-linux-amd64`)).toBe(false);
      expect(await localImageExists(`${REGISTRY}/${s.repo}:imgb-platform-linux-arm64`)).toBe(false);
      expect((await tags(s.repo)).sort()).toEqual([`imgb-${meta.checksum.slice(7)}`, "imgb-platform-linux-amd64", "imgb-platform-linux-arm64", "latest", "v1"]);

      // Nothing changed, but `v1` was moved to one platform's manifest: reused from this
      // machine's record, and `v1` points at the index again.
      const amd = await manifest(s.repo, meta.platforms!["linux/amd64"]!);
      const moveTag = async (tag: string) => {
        const put = await fetch(`http://${REGISTRY}/v2/${s.repo}/manifests/${tag}`, { method: "PUT", headers: { "Content-Type": amd.mediaType }, body: JSON.stringify(amd.doc) });
        expect(put.status).toBe(201);
        expect(await registryDigest(REGISTRY, s.repo, tag)).not.toBe(meta.digest!);
      };
      await moveTag("v1");
      const again = await s.build();
      expect(again.code).toBe(0);
      expect(again.meta.app).toMatchObject({ reused: true, digest: meta.digest, checksum: meta.checksum, platforms: meta.platforms! });
      await checkIndex(s, "v1", meta);

      // A fresh machine (empty home) after `latest` was moved: the registry record is found and
      // `latest` points at the index again.
      await moveTag("latest");
      const fresh = await s.build(tempDir("imgb-mpd-fresh-"));
      expect(fresh.code).toBe(0);
      expect(fresh.meta.app).toMatchObject({ reused: true, digest: meta.digest, checksum: meta.checksum, platforms: meta.platforms! });
      expect(fresh.stderr).not.toContain("[linux/arm64] ");
      await checkIndex(s, "latest", { ...meta, platforms: meta.platforms! });
    }, E2E_TIMEOUT * 2);
  }

  test("through a registry with a login: the platforms and the index are pushed with the stack's credentials", async () => {
    const s = stack();
    s.write(["linux/amd64", "linux/arm64"]);
    const yaml = readFileSync(join(s.dir, "imgb.yaml"), "utf8").replace(`container_registry: { uri: ${REGISTRY}/${s.ns} }`, `container_registry: { uri: ${AUTH_REGISTRY}/${s.ns}, credentials: { username: ${AUTH_USER}, password_env: MP_PASSWORD } }`);
    writeFileSync(join(s.dir, "imgb.yaml"), yaml);
    const metaFile = join(s.home, "meta.json");
    const r = await runImgb(["build", "--progress", "plain", "--metadata-file", metaFile], { cwd: s.dir, env: { IMGB_HOME: s.home, NO_COLOR: "1", MP_PASSWORD: AUTH_PASSWORD } });
    expect(r.stderr).not.toContain("error:");
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain(AUTH_PASSWORD);
    const meta = (JSON.parse(readFileSync(metaFile, "utf8")) as Meta).app!;
    const auth = { user: AUTH_USER, password: AUTH_PASSWORD };
    expect(await registryDigest(AUTH_REGISTRY, s.repo, "latest", auth)).toBe(meta.digest!);
    expect(await registryDigest(AUTH_REGISTRY, s.repo, "v1", auth)).toBe(meta.digest!);
    const res = await fetch(`http://${AUTH_REGISTRY}/v2/${s.repo}/manifests/latest`, { headers: { Accept: MANIFEST_ACCEPT, Authorization: `Basic ${btoa(`${AUTH_USER}:${AUTH_PASSWORD}`)}` } });
    const index = (await res.json()) as { manifests: { digest: string; platform: { architecture: string } }[] };
    expect(index.manifests.map((m) => [m.platform.architecture, m.digest])).toEqual([
      ["amd64", meta.platforms!["linux/amd64"]!],
      ["arm64", meta.platforms!["linux/arm64"]!],
    ]);
  }, E2E_TIMEOUT);

  test("adding a platform rebuilds: one platform, then two", async () => {
    const s = stack();
    s.write(["linux/amd64"]);
    localRefs.push(`${REGISTRY}/${s.repo}:latest`, `${REGISTRY}/${s.repo}:v1`);
    const one = await s.build();
    expect(one.code).toBe(0);
    expect(one.meta.app!.platforms).toBeUndefined();
    expect((await manifest(s.repo, "latest")).mediaType).toBe(MediaType.dockerManifest);

    s.write(["linux/amd64", "linux/arm64"]);
    const two = await s.build();
    expect(two.code).toBe(0);
    expect(two.meta.app!.reused).toBe(false);
    expect(two.meta.app!.checksum).not.toBe(one.meta.app!.checksum);
    await checkIndex(s, "latest", two.meta.app!);
  }, E2E_TIMEOUT * 2);

  test("a platform whose RUN fails is named, the other platform's build is stopped, nothing is pushed: no index, no tag, no helper tag", async () => {
    const s = stack();
    // amd64 would take long; arm64 fails at once: the failure stops the amd64 build.
    const sleep = `sleep ${100 + Math.floor(Math.random() * 900)}`;
    s.write(["linux/amd64", "linux/arm64"], { dockerfile: `FROM ${MULTIARCH_BASE}\nRUN if [ "$(uname -m)" = x86_64 ]; then ${sleep}; else echo "only on x86_64, not $(uname -m)"; exit 7; fi\n` });
    const r = await s.build();
    expect(r.code).toBe(1);
    const line = r.stderr.split("\n").find((l) => l.includes("Build of image"));
    expect(line).toContain("Build of image 'app:latest' for linux/arm64 failed: a build step");
    expect(line).toContain("exited with code 7");
    expect(r.stderr).toContain("only on x86_64, not aarch64");
    expect(r.stderr).toContain("[linux/amd64] stopped: another platform failed");
    expect(r.stderr).not.toContain("for linux/amd64 failed");
    expect(await processesLeft((l) => l.includes(sleep))).toEqual([]); // the daemon's cancel of BuildKit is asynchronous
    expect(await tags(s.repo)).toEqual([]);
    expect(await localImageExists(`${REGISTRY}/${s.repo}:imgb-platform-linux-amd64`)).toBe(false);
  }, E2E_TIMEOUT);

  test("Ctrl-C while both platforms RUN: exit 130, both RUN processes gone, nothing pushed, no temp files", async () => {
    const s = stack();
    const marker = `imgb-mpd-cancel-${Date.now()}`;
    const sleep = `sleep ${100 + Math.floor(Math.random() * 900)}`;
    s.write(["linux/amd64", "linux/arm64"], { dockerfile: `FROM ${MULTIARCH_BASE}\nRUN echo ${marker} && ${sleep} && echo done\n` });
    const tmpBefore = readdirSync(tmpdir()).sort();
    let sent = false;
    const r = await runImgb(["build", "--progress", "plain"], {
      cwd: s.dir,
      env: { IMGB_HOME: s.home, NO_COLOR: "1" },
      onStderr: (text, proc) => {
        const running = (p: string) => text.split("\n").some((l) => l.includes(`[${p}] `) && l.includes(marker) && !l.includes("RUN"));
        if (!sent && running("linux/amd64") && running("linux/arm64")) {
          sent = true;
          proc.kill("SIGINT");
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    const left = await processesLeft((l) => l.includes(sleep) || l.includes(marker)); // the daemon's cancel of BuildKit is asynchronous
    expect(left).toEqual([]);
    expect(await tags(s.repo)).toEqual([]);
    expect(await localImageExists(`${REGISTRY}/${s.repo}:imgb-platform-linux-amd64`)).toBe(false);
    expect(readdirSync(tmpdir()).sort()).toEqual(tmpBefore);
  }, E2E_TIMEOUT);

  test("no registry: one clear line at /images/app/platforms before anything is built", async () => {
    const s = stack();
    s.write(["linux/amd64", "linux/arm64"], { registry: false });
    const r = await s.build();
    expect(r.code).toBe(2);
    const errors = r.stderr.split("\n").filter((l) => l.includes("error:"));
    expect(errors).toEqual([
      `${join(s.dir, "imgb.yaml")}: error: The docker flavor builds image 'app' for several platforms ('linux/amd64', 'linux/arm64') only into a registry: docker's image store holds one platform per tag, and without a container_registry there is nowhere to put the index (at /images/app/platforms) (hint: add a container_registry (each platform is pushed and one index is tagged), list one platform, or use podman/buildah, which keep a local manifest list)`,
    ]);
    expect(r.stderr).not.toContain("Step 1");
    expect(r.stderr).not.toContain("[linux/");
    expect(await localImageExists("app:imgb-platform-linux-amd64")).toBe(false);
  }, E2E_TIMEOUT);
});

const S390X = { os: "linux", architecture: "s390x" };
/** The fixture needs busybox to make an s390x-looking /bin/sh, and a machine that cannot run s390x binaries. */
const s390xFixture = ready && (await requireTool("busybox, and no qemu-s390x handler", () => (!Bun.which("busybox") ? "'busybox' is not on PATH" : canRun(S390X) ? "qemu-s390x is registered in binfmt_misc here, so no RUN can fail for want of it" : undefined)));

describe.skipIf(!s390xFixture)("docker flavor: a foreign platform without an emulator", () => {
  test("the first RUN for linux/s390x says which platform, which package and where binfmt_misc is checked", async () => {
    const s = stack();
    // A linux/s390x base whose /bin/sh is an s390x ELF (busybox's header rewritten: big-endian,
    // e_machine 22): the kernel refuses it with ENOEXEC, as it would a real s390x binary.
    const root = tempDir("imgb-mpd-s390x-");
    const sh = new Uint8Array(readFileSync(Bun.which("busybox")!));
    sh[5] = 2;
    sh[18] = 0;
    sh[19] = 22;
    writeTree(root, { "bin/sh": sh });
    chmodSync(join(root, "bin/sh"), 0o755);
    const base = `${REGISTRY}/${s.ns}/base`;
    // `multi` too: the classic builder pulls the base (--pull) into the daemon.
    localRefs.push(`${base}:s390x`, `${base}:amd64`, `${base}:multi`);
    const cli = [DOCKER_CLI, "-H", DOCKER_HOST];
    const tar = Bun.spawn(["tar", "-C", root, "-c", "."], { stdout: "pipe" });
    await exec([...cli, "import", "--platform", "linux/s390x", "-", `${base}:s390x`], { stdin: tar.stdout });
    await exec([...cli, "tag", BASE_IMAGE, `${base}:amd64`]);
    const entries = [];
    for (const [tag, architecture] of [["amd64", "amd64"], ["s390x", "s390x"]] as const) {
      await exec([...cli, "push", `${base}:${tag}`]);
      const res = await fetch(`http://${REGISTRY}/v2/${s.ns}/base/manifests/${tag}`, { headers: { Accept: MediaType.dockerManifest } });
      const bytes = new Uint8Array(await res.arrayBuffer());
      entries.push({ mediaType: MediaType.dockerManifest, digest: res.headers.get("docker-content-digest")!, size: bytes.length, platform: { architecture, os: "linux" } });
    }
    const put = await fetch(`http://${REGISTRY}/v2/${s.ns}/base/manifests/multi`, { method: "PUT", headers: { "Content-Type": MediaType.dockerList }, body: JSON.stringify({ schemaVersion: 2, mediaType: MediaType.dockerList, manifests: entries }) });
    expect(put.status).toBe(201);

    for (const builder of ["buildkit", "classic"]) {
      s.write(["linux/amd64", "linux/s390x"], { builder, dockerfile: `FROM ${base}:multi\nRUN uname -m > /arch\n` });
      const r = await s.build();
      expect(r.code).toBe(1);
      const line = r.stderr.split("\n").find((l) => l.includes("Build of image"));
      expect(line).toStartWith("app | Build of image 'app:latest' for linux/s390x failed: RUN steps for linux/s390x need an emulator on this linux/amd64 machine: no enabled qemu-s390x handler in /proc/sys/fs/binfmt_misc; install qemu-user-static (Debian/Ubuntu: apt-get install qemu-user-static binfmt-support; then update-binfmts --enable qemu-s390x) and check that /proc/sys/fs/binfmt_misc/qemu-s390x says \"enabled\"");
      expect(r.stderr).toContain("check the emulator with: cat /proc/sys/fs/binfmt_misc/qemu-s390x");
      // No user tag, no index. With BuildKit, amd64 is pushed as soon as it is built: when that
      // was before s390x failed, its helper tag stays (by design, multi_platform.ts).
      expect((await tags(s.repo)).filter((t) => t !== "imgb-platform-linux-amd64")).toEqual([]);
    }
    // The classic builder keeps the container of a failed RUN (docker's default, --force-rm=false).
    const left = (await exec([...cli, "ps", "-a", "-q", "--filter", `ancestor=${base}:multi`])).stdout.split("\n").filter(Boolean);
    if (left.length > 0) await exec([...cli, "rm", ...left]);
  }, E2E_TIMEOUT * 2);
});
