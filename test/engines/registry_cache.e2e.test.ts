/**
 * The registry cache follows the build to another machine (issue #13, item 3): build once with
 * an expensive RUN (a random /stamp and a sleep) and push the cache; then build again on an
 * engine that has never seen the image (podman and buildah: a second, empty storage root;
 * docker: a second dockerd with its own data root, so the shared daemon's build cache is never
 * pruned under other tests). The second build must take the RUN step from the cache, as the
 * engine itself says ("Cache pulled from remote" + "Using cache"; BuildKit's "CACHED"), and push
 * the same layers: the random /stamp of the first build.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exec } from "../../src/exec.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, REGISTRY, requireEngine, requireTool, uniqueRepo, type EngineName } from "../helpers/testenv.ts";
import { cleanupTempDirs, shortTempDir, tempDir } from "../helpers/tmp.ts";
import { build } from "./_scenario.ts";

afterAll(cleanupTempDirs);

const registry = { uri: REGISTRY, insecure: true };


/** A Dockerfile no engine has cached yet (the marker), whose RUN is slow and never gives the same /stamp twice. */
function expensiveContext(): { root: string; marker: string } {
  const marker = `cache-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const root = tempDir("imgb-cache-ctx-");
  writeFileSync(join(root, "Dockerfile"), `FROM ${BASE_IMAGE}\nRUN echo ${marker} && cat /proc/sys/kernel/random/uuid > /stamp && sleep 2\n`);
  return { root, marker };
}

/** The layer digests of a pushed image, as the registry serves its manifest. */
async function pushedLayers(ref: string): Promise<string[]> {
  const at = ref.indexOf("@");
  const repo = ref.slice(REGISTRY.length + 1, at);
  const accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${ref.slice(at + 1)}`, { headers: { Accept: accept } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
}

/** The log lines from the RUN step's line on (podman/buildah print one STEP line per instruction). */
function afterRunStep(logs: string[], marker: string): string[] {
  const i = logs.findIndex((l) => l.includes("RUN echo") && l.includes(marker));
  expect(i).toBeGreaterThanOrEqual(0);
  return logs.slice(i + 1, i + 4);
}

const containers: { engine: "podman" | "buildah"; needs: EngineName }[] = [
  { engine: "podman", needs: "podman" },
  { engine: "buildah", needs: "buildah" },
];

for (const c of containers) {
  describe.skipIf(!(await requireEngine(c.needs, "registry")))(`${c.engine}: registry cache across storage roots`, () => {
    const roots: string[] = [];
    /** A private, empty storage root holding only the base image (copied from the engine's own storage). */
    async function freshStorage(archive: string): Promise<Record<string, string>> {
      // Short: podman refuses a runroot longer than 50 characters, so not in the per-file TMPDIR.
      const dir = shortTempDir("imgb-cs-");
      roots.push(dir);
      const storage = { root: join(dir, "root"), runroot: join(dir, "run"), storage_driver: "overlay" };
      await exec(["podman", "--root", storage.root, "--runroot", storage.runroot, "--storage-driver", "overlay", "load", "-q", "-i", archive]);
      return storage;
    }
    afterAll(async () => {
      // The layers are overlay mounts while images exist: remove the images before the directories.
      for (const dir of roots) {
        await exec(["podman", "--root", join(dir, "root"), "--runroot", join(dir, "run"), "--storage-driver", "overlay", "rmi", "-a", "-f"]).catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("cache pushed from one storage root is used by a build in another: the RUN step is not run again", async () => {
      const archiveDir = tempDir("imgb-cache-base-");
      const archive = join(archiveDir, "base.tar");
      await exec(["podman", "save", "-q", "-o", archive, BASE_IMAGE]);
      const { root, marker } = expensiveContext();
      const cache = `${REGISTRY}/${uniqueRepo(`cache-${c.engine}`)}`;
      const options = { cacheFrom: [cache], cacheTo: [{ type: "registry" as const, ref: cache }] };
      const config = { binary: c.engine, layers: true, format: "auto" };

      const first = await build(c.engine, { ...config, ...(await freshStorage(archive)) }, root, uniqueRepo(`cached-${c.engine}`), options, registry);
      expect(first.logs.some((l) => l.startsWith(`--> Pushing cache ${cache}:`))).toBe(true);

      const second = await build(c.engine, { ...config, ...(await freshStorage(archive)) }, root, uniqueRepo(`cached-${c.engine}-again`), options, registry);
      const step = afterRunStep(second.logs, marker);
      expect(step[0]).toStartWith(`--> Cache pulled from remote ${cache}:`);
      expect(step[1]).toStartWith("--> Using cache ");
      // Same layers, so the same random /stamp: the RUN did not run again.
      expect(await pushedLayers(second.ref)).toEqual(await pushedLayers(first.ref));
    }, E2E_TIMEOUT);
  });
}

/** A second dockerd with its own data root: an engine with no build cache and no images at all. */
async function startDockerd(dir: string): Promise<string> {
  const sock = join(dir, "sock");
  writeFileSync(join(dir, "daemon.json"), "{}");
  mkdirSync(join(dir, "data"));
  mkdirSync(join(dir, "exec"));
  const driver = readStorageDriver();
  Bun.spawn(["dockerd", "--config-file", join(dir, "daemon.json"), "--data-root", join(dir, "data"), "--exec-root", join(dir, "exec"), "--pidfile", join(dir, "pid"),
    "-H", `unix://${sock}`, "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false", "--userland-proxy=false", "--storage-driver", driver], {
    stdout: Bun.file(join(dir, "log")), stderr: Bun.file(join(dir, "log")),
  });
  for (let i = 0; i < 60; i++) {
    try {
      await exec([DOCKER_CLI, "-H", `unix://${sock}`, "version", "--format", "{{.Server.Version}}"]);
      return `unix://${sock}`;
    } catch {
      await Bun.sleep(500);
    }
  }
  throw new Error(`the second dockerd did not start:\n${readFileSync(join(dir, "log"), "utf8").slice(-2000)}`);
}

/** The driver the test environment's own dockerd uses (scripts/testenv.sh writes it). */
function readStorageDriver(): string {
  try {
    return readFileSync("/run/imgb-test/storage-driver", "utf8").trim() || "overlay2";
  } catch {
    return "overlay2";
  }
}

async function stopDockerd(dir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dir, "pid"), "utf8").trim());
  } catch {
    return;
  }
  process.kill(pid, "SIGTERM");
  for (let i = 0; i < 60; i++) {
    try {
      process.kill(pid, 0);
      await Bun.sleep(250);
    } catch {
      return;
    }
  }
}

describe.skipIf(!(await requireEngine("docker", "registry")) || !(await requireTool("dockerd")))("docker BuildKit: inline cache across daemons", () => {
  // Short: the daemon's unix sockets (and containerd's under its exec root) have a 108-byte limit.
  const dir = shortTempDir("imgb-dk-");
  afterAll(async () => {
    await stopDockerd(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  test("an image pushed with cache_to: [type=inline] is the cache_from of a build on a daemon that never saw it", async () => {
    const { root, marker } = expensiveContext();
    const repo = uniqueRepo("cached-docker");
    const config = { binary: DOCKER_CLI, builder: "buildkit", host: DOCKER_HOST };
    const first = await build("docker", config, root, repo, { cacheTo: [{ type: "inline" }] }, registry);

    const host = await startDockerd(dir);
    const save = Bun.spawn([DOCKER_CLI, "-H", DOCKER_HOST, "save", BASE_IMAGE], { stdout: "pipe" });
    await exec([DOCKER_CLI, "-H", host, "load", "-q"], { stdin: save.stdout });
    const second = await build("docker", { ...config, host }, root, `${repo}-again`, { cacheFrom: [`${REGISTRY}/${repo}:latest`] }, registry);
    expect(second.logs.some((l) => l.includes(`importing cache manifest from ${REGISTRY}/${repo}:latest`))).toBe(true);
    // BuildKit's plain progress: `#N [2/2] RUN …`, then `#N CACHED` for the same vertex N.
    const runLine = second.logs.find((l) => l.includes("RUN echo") && l.includes(marker));
    const vertex = runLine?.match(/^#(\d+) /)?.[1];
    expect(vertex).toBeDefined();
    expect(second.logs).toContain(`#${vertex} CACHED`);
    // The RUN step's layer came from the cache: the same blob. (Not the base's: how a daemon
    // compresses it depends on what it pulled before — a daemon that once pulled the same
    // content from a registry pushes that registry's blob — so it may differ between daemons.)
    const [a, b] = [await pushedLayers(first.ref), await pushedLayers(second.ref)];
    expect(b.length).toBe(a.length);
    expect(b.at(-1)).toBe(a.at(-1)!);
  }, E2E_TIMEOUT);
});
