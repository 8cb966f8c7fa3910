/**
 * Builder nodes end to end (issue #16), with the compiled binary: a stack spread over two docker
 * daemons (the second one over tcp:// and over ssh:// through the test sshd), work found on both
 * in each daemon's own image list; a dependent image (`${images.X.ref}`) built on the node that
 * did not build its base, through the registry; a test-owned third dockerd killed mid-stack,
 * whose work moves to the other node (and, for an image split over nodes, the one platform whose
 * node died: builder_nodes_split.e2e.test.ts has the split itself); every node down as one clear
 * error; `imgb builders` and the planned node of `imgb print`.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, shortTempDir, tempDir, writeTree } from "../helpers/tmp.ts";
import { BASE_IMAGE, DOCKER2_HOST, DOCKER2_SSH, DOCKER2_TCP, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, MULTIARCH_BASE, PODMAN_URL, REGISTRY, requireEngine, SSH_CONFIG, uniqueRepo, dockerOn as docker } from "../helpers/testenv.ts";

afterAll(cleanupTempDirs);

/** Every repository a test made, removed from every daemon that has it at the end. */
const made: string[] = [];
const daemons = [DOCKER_HOST, DOCKER2_HOST];
afterAll(async () => {
  for (const host of daemons) {
    // By ID: a base pulled by digest, or a tag moved by a rebuild, leaves entries without a tag.
    const lines = (await docker(host, ["images", "--no-trunc", "--format", "{{.Repository}} {{.ID}}"]).catch(() => "")).split("\n");
    const mine = [...new Set(lines.filter((l) => made.some((r) => l.startsWith(`${REGISTRY}/${r} `))).map((l) => l.split(" ")[1]!))];
    if (mine.length) await docker(host, ["rmi", "-f", ...mine]).catch(() => "");
  }
});

/** The stack's repositories a daemon holds (from its own image list). */
async function reposOn(host: string, repos: readonly string[]): Promise<string[]> {
  const lines = (await docker(host, ["images", "--format", "{{.Repository}}"])).split("\n");
  return repos.filter((r) => lines.includes(`${REGISTRY}/${r}`)).sort();
}

interface NodeSpec {
  name: string;
  host: string;
  extra?: string;
}

function stack(nodes: NodeSpec[], images: Record<string, string>, files: Record<string, string>, registry = true): string {
  const dir = tempDir("imgb-nodes-");
  const nodeLines = nodes.map((n) => `      - { name: ${n.name}, host: "${n.host}"${n.extra ? `, ${n.extra}` : ""} }`).join("\n");
  const yaml = `image_builder:\n  flavor: docker\n  config:\n    binary: ${DOCKER_CLI}\n    nodes:\n${nodeLines}\n${registry ? `container_registry: { uri: ${REGISTRY} }\n` : ""}images:\n${Object.entries(images).map(([k, v]) => `  ${k}: ${v}`).join("\n")}\n`;
  writeTree(dir, { ...files, "imgb.yaml": yaml });
  return dir;
}

/** A private store per run: nothing reused from another test. */
const home = () => tempDir("imgb-home-");

/** The NODE column of the summary: image -> node. */
function summaryNodes(stderr: string): Record<string, string> {
  const table = stderr.slice(stderr.lastIndexOf("\nIMAGE "));
  const out: Record<string, string> = {};
  for (const line of table.split("\n").slice(2)) {
    const [image, result, , node] = line.trim().split(/\s+/);
    if (image && (result === "built" || result === "reused")) out[image] = node!;
  }
  return out;
}

/** Six images: a base, four that build FROM it through ${images.base.ref}, one on its own. */
function sixImages(tag: string) {
  const base = uniqueRepo(`${tag}-base`);
  const apps = [1, 2, 3, 4].map((i) => uniqueRepo(`${tag}-app${i}`));
  const solo = uniqueRepo(`${tag}-solo`);
  made.push(base, ...apps, solo);
  const images: Record<string, string> = {
    [base]: "{ context: base, network: none }",
    [solo]: "{ context: solo, network: none }",
  };
  apps.forEach((a, i) => (images[a] = `{ context: app, network: none, build_args: { BASE: "\${images.${base}.ref}", N: "${i}" } }`));
  const files = {
    "base/Dockerfile": `FROM ${BASE_IMAGE}\nRUN echo base > /base\n`,
    "solo/Dockerfile": `FROM ${BASE_IMAGE}\nRUN echo solo > /solo\n`,
    "app/Dockerfile": "ARG BASE\nFROM $BASE\nARG N\nRUN cat /base && echo $N > /n\n",
  };
  return { base, apps, solo, all: [base, ...apps, solo], images, files };
}

describe.skipIf(!(await requireEngine("docker", "docker2", "docker2-ssh", "registry")))("builder nodes (docker, compiled binary)", () => {
  for (const transport of ["tcp", "ssh"] as const) {
    test(`a 6-image stack over 2 nodes (${transport}://) builds with work on both daemons`, async () => {
      const s = sixImages(`nodes-${transport}`);
      const second: NodeSpec = transport === "tcp" ? { name: "two", host: DOCKER2_TCP } : { name: "two", host: DOCKER2_SSH, extra: `ssh_config: "${SSH_CONFIG}"` };
      const dir = stack([{ name: "one", host: DOCKER_HOST }, second], s.images, s.files);
      const r = await runImgb(["build", "--jobs", "2", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: home(), NO_COLOR: "1" } });
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      expect(r.stdout.trim().split("\n")).toHaveLength(6);
      const where = summaryNodes(r.stderr);
      expect(Object.keys(where).sort()).toEqual([...s.all].sort());
      const onOne = await reposOn(DOCKER_HOST, s.all);
      const onTwo = await reposOn(DOCKER2_HOST, s.all);
      // Each daemon holds what the summary says it built, and both built some.
      expect(onOne).toEqual(s.all.filter((n) => where[n] === "one").sort());
      expect(onTwo).toEqual(s.all.filter((n) => where[n] === "two").sort());
      expect(onOne.length).toBeGreaterThan(0);
      expect(onTwo.length).toBeGreaterThan(0);
      // An app built on the node that did not build the base pulled it from the registry.
      const across = s.apps.find((a) => where[a] !== where[s.base]);
      expect(across).toBeDefined();
      const otherHost = where[across!] === "one" ? DOCKER_HOST : DOCKER2_HOST;
      const ref = r.stdout.trim().split("\n")[s.all.indexOf(across!)]!;
      expect(await docker(otherHost, ["run", "--rm", "--network", "none", ref, "cat", "/base"])).toBe("base");
    }, E2E_TIMEOUT);
  }

  test("platforms route images: to the node that declares them, an image without platforms to the first node's; emulation deny fails only that image, allow builds it", async () => {
    const [a1, a2, arm] = ["plat-a1", "plat-a2", "plat-arm"].map((t) => uniqueRepo(`nodes-${t}`)) as [string, string, string];
    made.push(a1, a2, arm);
    const images = {
      [a1]: "{ context: amd, network: none, build_args: { N: '1' } }",
      [a2]: "{ context: amd, network: none, build_args: { N: '2' } }",
      [arm]: "{ context: arm, network: none, platforms: [linux/arm64] }",
    };
    const files = {
      "amd/Dockerfile": `FROM ${BASE_IMAGE}\nARG N\nRUN echo $N > /n\n`,
      "arm/Dockerfile": `FROM ${MULTIARCH_BASE}\nRUN uname -m > /arch\n`,
    };
    // 'two' says it builds linux/arm64 (this machine emulates it: what a real arm64 node does natively).
    const routed = stack([{ name: "one", host: DOCKER_HOST }, { name: "two", host: DOCKER2_TCP, extra: "platforms: [linux/arm64]" }], images, files);
    const r = await runImgb(["build", "--jobs", "2", "--progress", "plain"], { cwd: routed, env: { IMGB_HOME: home(), NO_COLOR: "1" } });
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(summaryNodes(r.stderr)).toEqual({ [a1]: "one", [a2]: "one", [arm]: "two" });
    expect(await reposOn(DOCKER2_HOST, [a1, a2, arm])).toEqual([arm]);
    expect(await docker(DOCKER2_HOST, ["image", "inspect", "--format", "{{.Architecture}}", `${REGISTRY}/${arm}:latest`])).toBe("arm64");

    // Both nodes amd64 only: the arm64 image has no native node.
    const amdOnly = [{ name: "one", host: DOCKER_HOST }, { name: "two", host: DOCKER2_TCP }];
    const denied = await runImgb(["build", "--progress", "plain"], { cwd: stack(amdOnly, images, files), env: { IMGB_HOME: home(), NO_COLOR: "1" } });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(`Cannot build '${arm}': no builder node that is up builds linux/arm64 natively ('one' builds linux/amd64; 'two' builds linux/amd64), and emulation is denied: set emulation: allow`);
    expect(denied.stderr).toContain(`error: 1 of 3 images failed: ${arm}`);
    expect(Object.keys(summaryNodes(denied.stderr)).sort()).toEqual([a1, a2].sort());

    const allowDir = stack(amdOnly, images, files);
    writeTree(allowDir, { "imgb.yaml": readFileSync(join(allowDir, "imgb.yaml"), "utf8").replace("    nodes:\n", "    emulation: allow\n    nodes:\n") });
    const allowed = await runImgb(["build", "--progress", "plain"], { cwd: allowDir, env: { IMGB_HOME: home(), NO_COLOR: "1" } });
    expect({ code: allowed.code, stderr: allowed.code === 0 ? "" : allowed.stderr }).toEqual({ code: 0, stderr: "" });
    expect(Object.keys(summaryNodes(allowed.stderr)).sort()).toEqual([a1, a2, arm].sort());
  }, E2E_TIMEOUT);

  test("imgb print shows the planned node of each image; imgb builders shows status, version, platforms", async () => {
    const s = sixImages("nodes-plan");
    const dir = stack([{ name: "one", host: DOCKER_HOST }, { name: "two", host: DOCKER2_TCP }], s.images, s.files);
    const p = await runImgb(["print"], { cwd: dir, env: { IMGB_HOME: home() } });
    expect(p.code).toBe(0);
    const doc = JSON.parse(p.stdout) as { plan: { image: string; node: string }[]; nodes: { name: string; up: boolean }[] };
    expect(doc.nodes.map((n) => [n.name, n.up])).toEqual([["one", true], ["two", true]]);
    expect(doc.plan.map((e) => e.node).sort()).toEqual(["one", "one", "one", "two", "two", "two"]);

    const b = await runImgb(["builders"], { cwd: dir });
    expect(b.code).toBe(0);
    const rows = b.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^NODE +STATUS +ENGINE +PLATFORMS +ADDRESS$/);
    expect(rows[1]).toMatch(new RegExp(`^one +up +docker 20\\.10\\S* +linux/amd64 +host=${DOCKER_HOST}$`));
    expect(rows[2]).toMatch(new RegExp(`^two +up +docker 20\\.10\\S* +linux/amd64 +host=${DOCKER2_TCP}$`));

    const down = stack([{ name: "one", host: DOCKER_HOST }, { name: "gone", host: "tcp://127.0.0.1:1" }], s.images, s.files);
    const bd = await runImgb(["builders"], { cwd: down });
    expect(bd.code).toBe(1);
    expect(bd.stdout).toMatch(/\ngone +DOWN +host=tcp:\/\/127\.0\.0\.1:1\n/);
    expect(bd.stderr).toContain("gone: The Docker daemon at tcp://127.0.0.1:1 is not reachable");
    expect(bd.stderr).toContain("1 of 2 builder nodes are down: 'gone'");
  }, E2E_TIMEOUT);

  test("all nodes down: one clear error, nothing built", async () => {
    const s = sixImages("nodes-down");
    const dir = stack([{ name: "a", host: "tcp://127.0.0.1:1" }, { name: "b", host: `unix://${tempDir("imgb-nosock-")}/docker.sock` }], s.images, s.files);
    const r = await runImgb(["build"], { cwd: dir, env: { IMGB_HOME: home() } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1); // one line: each node and why, then the hint
    expect(lines[0]).toStartWith("error: All 2 builder nodes are down (checked before building: nothing was built): 'a': The Docker daemon at tcp://127.0.0.1:1 is not reachable");
    expect(lines[0]).toContain("'b': The Docker daemon at unix://");
    expect(lines[0]).toEndWith("(hint: start dockerd or set the flavor's `host`)");
  }, E2E_TIMEOUT);

  test("several nodes without a registry are refused before anything runs", async () => {
    const dir = stack([{ name: "one", host: DOCKER_HOST }, { name: "two", host: DOCKER2_TCP }], { x: "{ context: . }" }, { Dockerfile: `FROM ${BASE_IMAGE}\n` }, false);
    const r = await runImgb(["build"], { cwd: dir, env: { IMGB_HOME: home() } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("A builder with 2 nodes needs a container_registry");
  }, E2E_TIMEOUT);
});

/** A dockerd of this suite's own (vfs, no network), so that killing it disturbs nobody. */
class TestDaemon {
  dir = "";
  host = "";
  proc?: Subprocess;

  async start(): Promise<void> {
    this.dir = shortTempDir("imgb-d3-");
    this.host = `unix://${this.dir}/d.sock`;
    for (const d of ["data", "exec", "tmp"]) Bun.spawnSync(["mkdir", "-p", join(this.dir, d)]);
    writeTree(this.dir, { "daemon.json": "{}" });
    this.proc = Bun.spawn(
      ["dockerd", "--config-file", join(this.dir, "daemon.json"), "--data-root", join(this.dir, "data"), "--exec-root", join(this.dir, "exec"), "--pidfile", join(this.dir, "d.pid"),
        "-H", this.host, "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false", "--userland-proxy=false", "--storage-driver", "vfs"],
      // Its own TMPDIR (removed with it): containerd dumps its stacks there when dockerd restarts it (a loaded machine).
      { stdout: Bun.file(join(this.dir, "d.log")), stderr: Bun.file(join(this.dir, "d.log")), stdin: "ignore", env: { ...process.env, TMPDIR: join(this.dir, "tmp") } },
    );
    for (let i = 0; i < 240; i++) {
      if (await docker(this.host, ["version", "--format", "{{.Server.Version}}"]).then(() => true, () => false)) break;
      await Bun.sleep(250);
    }
    // The base, as the shared daemons have it (the same bytes: saved from one, loaded here).
    const save = Bun.spawn([DOCKER_CLI, "-H", DOCKER_HOST, "save", BASE_IMAGE], { stdout: "pipe" });
    const load = Bun.spawn([DOCKER_CLI, "-H", this.host, "load"], { stdin: save.stdout, stdout: "ignore", stderr: "pipe" });
    if ((await load.exited) !== 0) throw new Error(`docker load into the test daemon failed: ${await new Response(load.stderr).text()}`);
  }

  /** A crash, not a shutdown: the daemon and the containerd it started go at once. */
  kill(): void {
    const containerd = join(this.dir, "exec", "containerd", "containerd.pid");
    const pid = existsSync(containerd) ? Number(readFileSync(containerd, "utf8").trim()) : undefined;
    this.proc?.kill("SIGKILL");
    if (pid) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  async remove(): Promise<void> {
    if (!this.dir) return;
    this.kill();
    await this.proc?.exited;
    // Mounts a killed daemon leaves (its exec root's netns/shm) before the directory goes.
    const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "").filter((m) => m.startsWith(this.dir)).sort().reverse();
    for (const m of mounts) Bun.spawnSync(["umount", "-l", m]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe.skipIf(!(await requireEngine("docker", "registry")))("builder nodes: a node killed mid-stack", () => {
  const third = new TestDaemon();
  afterAll(() => third.remove());

  test("the killed node's running and pending work moves to the other node, and the stack succeeds", async () => {
    await third.start();
    const names = [1, 2, 3, 4, 5, 6].map((i) => uniqueRepo(`nodes-kill${i}`));
    made.push(...names);
    const images = Object.fromEntries(names.map((n, i) => [n, `{ context: ., network: none, build_args: { N: "${i}" } }`]));
    const dir = stack([{ name: "one", host: DOCKER_HOST }, { name: "three", host: third.host }], images, { Dockerfile: `FROM ${BASE_IMAGE}\nARG N\nRUN echo $N > /n && sleep 4\n` });
    let killed = false;
    const r = await runImgb(["build", "--jobs", "1", "--progress", "plain"], {
      cwd: dir,
      env: { IMGB_HOME: home(), NO_COLOR: "1" },
      onStderr: (soFar) => {
        // Mid-build: the RUN step is under way on the third daemon.
        const running = names.find((n) => new RegExp(`${n.replace(/[/-]/g, ".")} +\\| => on node three[\\s\\S]*${n.replace(/[/-]/g, ".")} +\\| .*RUN echo`).test(soFar));
        if (!killed && running) {
          killed = true;
          setTimeout(() => third.kill(), 500);
        }
      },
    });
    expect(killed).toBe(true);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stderr).toMatch(/builder node 'three' went down \(The Docker daemon at unix:\/\/\S+ is not reachable.*\): moving the build to another node/);
    expect(r.stdout.trim().split("\n")).toHaveLength(6);
    const where = summaryNodes(r.stderr);
    expect(Object.keys(where).sort()).toEqual([...names].sort());
    // Everything that finished after the kill did so on 'one': at least the image cut off.
    expect(Object.values(where).filter((n) => n === "one").length).toBeGreaterThanOrEqual(4);
    expect((await reposOn(DOCKER_HOST, names)).length).toBe(Object.values(where).filter((n) => n === "one").length);
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("docker", "docker2", "registry")))("builder nodes: one platform of a split image, its node killed mid-build", () => {
  const fourth = new TestDaemon();
  afterAll(() => fourth.remove());

  test("the arm64 part moves to the other arm64 node; the amd64 part is not rebuilt; one index", async () => {
    await fourth.start();
    const app = uniqueRepo("nodes-split-kill");
    made.push(app);
    const repo = `${REGISTRY}/${app}`;
    // Both 'four' (this suite's own daemon, listed first: it gets the arm64 part) and 'two' declare linux/arm64.
    const nodes = [{ name: "one", host: DOCKER_HOST, extra: "platforms: [linux/amd64]" }, { name: "four", host: fourth.host, extra: "platforms: [linux/arm64]" }, { name: "two", host: DOCKER2_TCP, extra: "platforms: [linux/arm64]" }];
    const dir = stack(nodes, { [app]: "{ context: ., network: none, platforms: [linux/amd64, linux/arm64] }" }, { Dockerfile: `FROM ${MULTIARCH_BASE}\nRUN uname -m > /arch && sleep 4\n` });
    const metaFile = join(home(), "meta.json");
    let killed = false;
    const r = await runImgb(["build", "--progress", "plain", "--metadata-file", metaFile], {
      cwd: dir,
      env: { IMGB_HOME: home(), NO_COLOR: "1" },
      onStderr: (soFar) => {
        if (!killed && /\[linux\/arm64 on four\] .*RUN uname/.test(soFar)) {
          killed = true;
          setTimeout(() => fourth.kill(), 500);
        }
      },
    });
    expect(killed).toBe(true);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stderr).toMatch(/builder node 'four' went down \(The Docker daemon at unix:\/\/\S+ is not reachable.*\): moving the build to another node/);
    expect(r.stderr).not.toContain("[linux/amd64 on two]");
    expect(r.stderr.match(/\[linux\/amd64 on one\] pushed /g)?.length).toBe(1);
    expect(r.stderr.match(/\[linux\/arm64 on two\] pushed /g)?.length).toBe(1);
    const meta = JSON.parse(readFileSync(metaFile, "utf8"))[app] as { ref: string; platforms: Record<string, string>; nodes: Record<string, string> };
    expect(meta.nodes).toEqual({ "linux/amd64": "one", "linux/arm64": "two" });
    expect(Object.keys(meta.platforms)).toEqual(["linux/amd64", "linux/arm64"]);
    expect(meta.ref).toBe(r.stdout.trim());
    expect(await docker(DOCKER2_HOST, ["image", "inspect", "--format", "{{.Architecture}}", `${repo}:imgb-platform-linux-arm64`])).toBe("arm64");
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("podman", "podman-service", "registry")))("builder nodes (podman: a service url and the local podman)", () => {
  const removeLocal = async (repos: readonly string[]) => {
    for (const r of repos) Bun.spawnSync(["podman", "rmi", "-f", `${REGISTRY}/${r}:latest`], { stdout: "ignore", stderr: "ignore" });
  };

  test("independent images spread over both podman nodes; imgb builders shows the service's version and platform", async () => {
    const names = [1, 2, 3, 4].map((i) => uniqueRepo(`nodes-podman${i}`));
    const dir = tempDir("imgb-nodes-podman-");
    const images = names.map((n, i) => `  ${n}: { context: ., network: none, build_args: { N: "${i}" } }`).join("\n");
    writeTree(dir, {
      Dockerfile: `FROM ${BASE_IMAGE}\nARG N\nRUN echo $N > /n && sleep 1\n`,
      "imgb.yaml": `image_builder:\n  flavor: podman\n  config:\n    nodes: [ { name: service, url: "${PODMAN_URL}" }, { name: local } ]\ncontainer_registry: { uri: ${REGISTRY} }\nimages:\n${images}\n`,
    });
    try {
      const r = await runImgb(["build", "--jobs", "1", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: home(), NO_COLOR: "1" } });
      expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
      const where = summaryNodes(r.stderr);
      expect(Object.keys(where).sort()).toEqual([...names].sort());
      expect(new Set(Object.values(where))).toEqual(new Set(["service", "local"]));
      // Each built image is in the registry under the digest printed.
      for (const ref of r.stdout.trim().split("\n")) expect(ref).toMatch(new RegExp(`^${REGISTRY}/imgb-e2e/nodes-podman\\d-\\w+@sha256:[0-9a-f]{64}$`));
      const b = await runImgb(["builders"], { cwd: dir });
      expect(b.code).toBe(0);
      expect(b.stdout).toMatch(new RegExp(`\\nservice +up +podman 4\\.\\S+ +linux/amd64 +url=${PODMAN_URL}\\n`));
      expect(b.stdout).toMatch(/\nlocal +up +podman 4\.\S+ +linux\/amd64 +\(default\)\n/);
    } finally {
      await removeLocal(names);
    }
  }, E2E_TIMEOUT);
});
