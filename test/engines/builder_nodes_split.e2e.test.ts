/**
 * One multi-platform image split over builder nodes (issue #16), with the compiled binary: the
 * shared dockerd (declared linux/amd64) and the second one over tcp:// (declared linux/arm64; it
 * runs arm64 under qemu here, what a real arm64 node does natively). Checked from the outside:
 * each daemon's own image list (it built its platform, and only it), the one index the registry
 * serves under each tag, /arch read out of each platform's layers with GNU tar, the metadata file
 * and the plan. Then the faults: the arm64 node down (emulation deny: the image fails naming the
 * platform, nothing under the tags), and an arm64 build that fails (the sibling stops, no tag).
 * And the same split over two podman nodes (the service and the local podman): the index is
 * imgb's, not the engine's.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MANIFEST_ACCEPT, MediaType } from "../../src/image/image.ts";
import { exec } from "../../src/exec.ts";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { DOCKER2_HOST, DOCKER2_TCP, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, MULTIARCH_BASE, PODMAN_URL, REGISTRY, requireEngine, uniqueRepo, dockerOn as docker } from "../helpers/testenv.ts";

afterAll(cleanupTempDirs);

/** Every repository a test made (`REGISTRY/ns/app`), removed from both daemons at the end. */
const made: string[] = [];
afterAll(async () => {
  for (const host of [DOCKER_HOST, DOCKER2_HOST]) {
    const mine = (await tagsOn(host, made).catch(() => [])).flat();
    if (mine.length) await docker(host, ["rmi", "-f", ...mine]).catch(() => "");
  }
}, E2E_TIMEOUT);

/** `repo:tag` of the daemon's images in `repos` (from its own image list), sorted. */
async function tagsOn(host: string, repos: readonly string[]): Promise<string[]> {
  const lines = (await docker(host, ["images", "--format", "{{.Repository}}:{{.Tag}}"])).split("\n");
  return lines.filter((l) => repos.some((r) => l.startsWith(`${r}:`))).sort();
}

async function manifest(repo: string, reference: string): Promise<{ mediaType: string; digest: string; doc: any }> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${reference}`, { headers: { Accept: MANIFEST_ACCEPT } });
  if (res.status !== 200) throw new Error(`${repo}:${reference}: HTTP ${res.status}`);
  return { mediaType: (res.headers.get("content-type") ?? "").split(";")[0]!, digest: res.headers.get("docker-content-digest") ?? "", doc: await res.json() };
}

async function registryTags(repo: string): Promise<string[]> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`);
  if (res.status === 404) return [];
  return (((await res.json()) as { tags?: string[] | null }).tags ?? []).sort();
}

/** `name` from the last layer of the image that has it, read by GNU tar. */
async function fileInImage(repo: string, manifestDigest: string, name: string): Promise<string> {
  const { doc } = await manifest(repo, manifestDigest);
  const dir = tempDir("imgb-split-layer-");
  let found: string | undefined;
  for (const [i, layer] of (doc.layers as { digest: string }[]).entries()) {
    const res = await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${layer.digest}`);
    const file = join(dir, `layer-${i}.tgz`);
    writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
    const entry = (await exec(["tar", "-tzf", file])).stdout.split("\n").find((e) => e === name || e === `./${name}`);
    if (entry) found = (await exec(["tar", "-xzOf", file, entry])).stdout;
  }
  if (found === undefined) throw new Error(`/${name} is in no layer of ${repo}@${manifestDigest}`);
  return found;
}

type Meta = Record<string, { ref: string; digest: string; imageId: string | null; platforms?: Record<string, string>; nodes?: Record<string, string>; reused: boolean }>;

/** A stack with the image `app` for amd64 and arm64 over the nodes `amd` and `arm` (`armHost`: the arm node's address). */
function splitStack(dockerfile: string, armHost = DOCKER2_TCP) {
  const dir = tempDir("imgb-split-");
  const ns = uniqueRepo("split");
  const repo = `${REGISTRY}/${ns}/app`;
  made.push(repo);
  writeTree(dir, {
    "imgb.yaml": `image_builder:
  flavor: docker
  config:
    binary: ${DOCKER_CLI}
    nodes:
      - { name: amd, host: "${DOCKER_HOST}", platforms: [linux/amd64] }
      - { name: arm, host: "${armHost}", platforms: [linux/arm64] }
container_registry: { uri: ${REGISTRY}/${ns} }
images:
  app: { context: ctx, network: none, tags: [latest, v1], platforms: [linux/amd64, linux/arm64] }
`,
    "ctx/Dockerfile": dockerfile,
  });
  const home = tempDir("imgb-split-home-");
  return {
    dir,
    ns,
    repo,
    path: `${ns}/app`,
    async build() {
      const metaFile = join(home, "meta.json");
      writeFileSync(metaFile, "{}");
      const r = await runImgb(["build", "--progress", "plain", "--metadata-file", metaFile], { cwd: dir, env: { IMGB_HOME: home, NO_COLOR: "1" } });
      return { ...r, meta: JSON.parse(readFileSync(metaFile, "utf8")) as Meta };
    },
  };
}

/** The NODE cell of an image's summary row. */
function summaryNode(stderr: string, image: string): string | undefined {
  const table = stderr.slice(stderr.lastIndexOf("\nIMAGE "));
  const row = table.split("\n").find((l) => l.startsWith(`${image} `));
  return row?.trim().split(/\s+/)[3];
}

const ARCH_DOCKERFILE = `FROM ${MULTIARCH_BASE}\nRUN uname -m > /arch\n`;

describe.skipIf(!(await requireEngine("docker", "docker2", "registry")))("builder nodes: one image split over two nodes (docker, compiled binary)", () => {
  test("amd64 builds on the amd64 node, arm64 on the arm64 node, and the registry gets one index under each tag", async () => {
    const s = splitStack(ARCH_DOCKERFILE);
    const plan = await runImgb(["print"], { cwd: s.dir, env: { IMGB_HOME: tempDir("imgb-split-home-") } });
    expect(plan.code).toBe(0);
    const planned = (JSON.parse(plan.stdout) as { plan: { image: string; placements: { platform: string; node: string; native: boolean }[] }[] }).plan;
    expect(planned[0]!.placements.map((p) => [p.platform, p.node, p.native])).toEqual([["linux/amd64", "amd", true], ["linux/arm64", "arm", true]]);

    const r = await s.build();
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    const ref = r.stdout.trim();
    expect(ref).toMatch(new RegExp(`^${s.repo.replace(/[./]/g, "\\$&")}@sha256:[0-9a-f]{64}$`));
    const indexDigest = ref.slice(ref.indexOf("@") + 1);
    expect(summaryNode(r.stderr, "app")).toBe("amd:linux/amd64,arm:linux/arm64");

    // Each daemon built its platform, and only it: its image list has that platform's helper tag alone.
    expect(await tagsOn(DOCKER_HOST, [s.repo])).toEqual([`${s.repo}:imgb-platform-linux-amd64`]);
    expect(await tagsOn(DOCKER2_HOST, [s.repo])).toEqual([`${s.repo}:imgb-platform-linux-arm64`]);
    expect(await docker(DOCKER_HOST, ["image", "inspect", "--format", "{{.Architecture}}", `${s.repo}:imgb-platform-linux-amd64`])).toBe("amd64");
    expect(await docker(DOCKER2_HOST, ["image", "inspect", "--format", "{{.Architecture}}", `${s.repo}:imgb-platform-linux-arm64`])).toBe("arm64");

    // One index, under both tags, listing both platforms; each manifest's layers say its arch.
    for (const tag of ["latest", "v1"]) {
      const index = await manifest(s.path, tag);
      expect(index.digest).toBe(indexDigest);
      expect([MediaType.dockerList, MediaType.ociIndex] as string[]).toContain(index.mediaType);
    }
    const { doc } = await manifest(s.path, indexDigest);
    const entries = (doc.manifests as { digest: string; platform: { os: string; architecture: string } }[]).map((m) => [`${m.platform.os}/${m.platform.architecture}`, m.digest]);
    expect(entries.map((e) => e[0])).toEqual(["linux/amd64", "linux/arm64"]);
    const byPlatform = Object.fromEntries(entries) as Record<string, string>;
    expect((await fileInImage(s.path, byPlatform["linux/amd64"]!, "arch")).trim()).toBe("x86_64");
    expect((await fileInImage(s.path, byPlatform["linux/arm64"]!, "arch")).trim()).toBe("aarch64");

    // The metadata file: the index, both platform digests, which node built which.
    expect(r.meta.app).toMatchObject({ ref, digest: indexDigest, imageId: null, reused: false, platforms: byPlatform, nodes: { "linux/amd64": "amd", "linux/arm64": "arm" } });

    // Built again: reused, and it still reports its platforms.
    const again = await s.build();
    expect(again.code).toBe(0);
    expect(again.meta.app).toMatchObject({ ref, reused: true, platforms: byPlatform });
  }, E2E_TIMEOUT);

  test("the arm64 node down, emulation denied: the image fails naming the platform, and no tag is written", async () => {
    const s = splitStack(ARCH_DOCKERFILE, "tcp://127.0.0.1:1");
    const r = await s.build();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("warning: builder node 'arm' is down, building on the others");
    expect(r.stderr).toContain("Cannot build 'app': no builder node that is up builds linux/arm64 natively ('amd' builds linux/amd64; 'arm' is down (The Docker daemon at tcp://127.0.0.1:1 is not reachable");
    expect(r.stderr).toContain("emulation: allow");
    expect(r.stdout).toBe("");
    expect(await registryTags(s.path)).toEqual([]);
    expect(await tagsOn(DOCKER_HOST, [s.repo])).toEqual([]);
  }, E2E_TIMEOUT);

  test("an arm64 build that fails fails the image naming platform and node; the amd64 part stops; no requested tag is written", async () => {
    // amd64 sleeps long enough to be cut off; arm64 fails at once.
    const s = splitStack(`FROM ${MULTIARCH_BASE}\nRUN if [ "$(uname -m)" = x86_64 ]; then sleep 60; else echo "no arm64 here" >&2; exit 3; fi\n`);
    const started = performance.now();
    const r = await s.build();
    expect(r.code).toBe(1);
    expect(performance.now() - started).toBeLessThan(55_000);
    expect(r.stderr).toContain("Image 'app' failed for linux/arm64 on builder node 'arm':");
    expect(r.stderr).toContain("[linux/amd64 on amd] stopped: another platform failed");
    expect(r.stdout).toBe("");
    const tags = await registryTags(s.path);
    expect(tags).not.toContain("latest");
    expect(tags).not.toContain("v1");
    expect(r.meta).toEqual({});
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("podman", "podman-service", "registry")))("builder nodes: one image split over two podman nodes", () => {
  test("amd64 on the podman service, arm64 on the local podman: one index, each platform's /arch", async () => {
    const dir = tempDir("imgb-split-podman-");
    const ns = uniqueRepo("split-podman");
    const repo = `${REGISTRY}/${ns}/app`;
    writeTree(dir, {
      "imgb.yaml": `image_builder:\n  flavor: podman\n  config:\n    nodes:\n      - { name: service, url: "${PODMAN_URL}", platforms: [linux/amd64] }\n      - { name: local, platforms: [linux/arm64] }\ncontainer_registry: { uri: ${REGISTRY}/${ns} }\nimages:\n  app: { context: ctx, network: none, platforms: [linux/amd64, linux/arm64] }\n`,
      "ctx/Dockerfile": ARCH_DOCKERFILE,
    });
    const metaFile = join(tempDir("imgb-split-home-"), "meta.json");
    try {
      const r = await runImgb(["build", "--progress", "plain", "--metadata-file", metaFile], { cwd: dir, env: { IMGB_HOME: tempDir("imgb-split-home-"), NO_COLOR: "1" } });
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(summaryNode(r.stderr, "app")).toBe("service:linux/amd64,local:linux/arm64");
      const index = await manifest(`${ns}/app`, "latest");
      expect(`${repo}@${index.digest}`).toBe(r.stdout.trim());
      const entries = Object.fromEntries((index.doc.manifests as { digest: string; platform: { os: string; architecture: string } }[]).map((m) => [`${m.platform.os}/${m.platform.architecture}`, m.digest])) as Record<string, string>;
      expect(Object.keys(entries)).toEqual(["linux/amd64", "linux/arm64"]);
      expect((await fileInImage(`${ns}/app`, entries["linux/amd64"]!, "arch")).trim()).toBe("x86_64");
      expect((await fileInImage(`${ns}/app`, entries["linux/arm64"]!, "arch")).trim()).toBe("aarch64");
      const meta = JSON.parse(readFileSync(metaFile, "utf8")) as Meta;
      expect(meta.app).toMatchObject({ platforms: entries, nodes: { "linux/amd64": "service", "linux/arm64": "local" } });
    } finally {
      const helpers = ["amd64", "arm64"].map((a) => `${repo}:imgb-platform-linux-${a}`);
      Bun.spawnSync(["podman", "rmi", "-f", ...helpers], { stdout: "ignore", stderr: "ignore" });
      Bun.spawnSync(["podman", "--url", PODMAN_URL, "rmi", "-f", ...helpers], { stdout: "ignore", stderr: "ignore" });
    }
  }, E2E_TIMEOUT);
});
