/**
 * The `docker build` flags of `imgb build`, through the compiled binary against the real docker
 * daemon and registry: `--load` builds locally although the stack has a registry, `--push`
 * without one is a clear usage error, `--no-cache` rebuilds what would be reused, `--pull`
 * pulls a base the daemon already has, `--platform` (repeatable, comma lists) sets the platforms
 * of every image (checked in the built image and, for two platforms, in an oci-layout index).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, MULTIARCH_BASE, REGISTRY, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

const created: string[] = [];
afterAll(() => {
  if (created.length) Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, "rmi", "-f", ...created]);
  cleanupTempDirs();
});

const docker = (...args: string[]) => Bun.spawnSync([DOCKER_CLI, "-H", DOCKER_HOST, ...args], { stdout: "pipe", stderr: "pipe" });
const home = tempDir("imgb-home-");
const imgb = (dir: string, args: string[]) => runImgb(args, { cwd: dir, env: { IMGB_HOME: home, NO_COLOR: "1", DOCKER_HOST } });

function stack(images: Record<string, string>, files: Record<string, string>, extra = ""): string {
  const dir = tempDir();
  const body = Object.entries(images).map(([name, entry]) => `  ${name}: { context: ., network: none${entry} }\n`).join("");
  writeTree(dir, { ...files, "imgb.yaml": `image_builder:\n  flavor: docker\n  config: { binary: ${DOCKER_CLI}, host: "${DOCKER_HOST}" }\n${extra}images:\n${body}` });
  return dir;
}

async function registryHasTag(repo: string, tag: string): Promise<boolean> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json" } });
  return res.ok;
}

describe("imgb build flags: usage errors before anything runs", () => {
  const dir = stack({ app: "" }, { Dockerfile: `FROM ${BASE_IMAGE}\n` });

  test("--push without a container_registry", async () => {
    const r = await imgb(dir, ["build", "--push"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`error: --push: the stack ${join(dir, "imgb.yaml")} has no container_registry to push to (hint: add container_registry`);
    expect(r.stderr).not.toContain("=> build");
  });

  test("--push with --load; a bad --platform", async () => {
    const both = await imgb(dir, ["build", "--push", "--load"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("error: Use either --push or --load, not both");
    const bad = await imgb(dir, ["build", "--platform", "linux/amd64,linux"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("error: Invalid --platform 'linux': expected OS/ARCH[/VARIANT] in lower case");
    // The stack schema's pattern, with the flag named.
    const schema = await imgb(dir, ["build", "--platform", "linux/amd64", "--platform", "Linux/AMD64"]);
    expect(schema.code).toBe(2);
    expect(schema.stderr).toContain("error: Invalid --platform 'Linux/AMD64'");
  });
});

describe.skipIf(!(await requireEngine("docker", "registry")))("imgb build flags (docker, registry)", () => {
  test("--load: a local image although the stack has a registry; --no-cache rebuilds what would be reused", async () => {
    const repo = uniqueRepo("flags-load");
    const dir = stack({ [repo]: "" }, { Dockerfile: `FROM ${BASE_IMAGE}\nCOPY f /f\n`, f: "one\n" }, `container_registry: { uri: ${REGISTRY} }\n`);
    created.push(`${repo}:latest`);
    const first = await imgb(dir, ["build", "--load", "--progress", "plain"]);
    expect({ code: first.code, stderr: first.code === 0 ? "" : first.stderr }).toEqual({ code: 0, stderr: "" });
    expect(first.stdout).toBe(`${repo}:latest\n`);
    expect(docker("image", "inspect", `${repo}:latest`).exitCode).toBe(0);
    expect(await registryHasTag(repo, "latest")).toBe(false);
    const again = await imgb(dir, ["build", "--load", "--progress", "plain"]);
    expect(again.stderr).toMatch(new RegExp(`${repo} +reused`));
    const fresh = await imgb(dir, ["build", "--load", "--no-cache", "--progress", "plain"]);
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).toMatch(new RegExp(`${repo} +built`));
    // The COPY step ran again: the engine's cache was not used either.
    const step = fresh.stderr.match(/#(\d+) \[2\/2\] COPY f \/f/)?.[1];
    expect(step).toBeDefined();
    expect(fresh.stderr).toContain(`#${step} DONE`);
    expect(fresh.stderr).not.toContain(`#${step} CACHED`);
    expect(await registryHasTag(repo, "latest")).toBe(false);
  }, E2E_TIMEOUT);

  test("--pull: a base the daemon has but the registry does not fails to pull", async () => {
    const base = `${REGISTRY}/${uniqueRepo("flags-localbase")}:latest`;
    expect(docker("tag", BASE_IMAGE, base).exitCode).toBe(0);
    created.push(base);
    const repo = uniqueRepo("flags-pull");
    const dir = stack({ [repo]: "" }, { Dockerfile: `FROM ${base}\n` });
    created.push(`${repo}:latest`);
    const local = await imgb(dir, ["build", "--progress", "plain"]);
    expect({ code: local.code, stderr: local.code === 0 ? "" : local.stderr }).toEqual({ code: 0, stderr: "" });
    const pulled = await imgb(dir, ["build", "--pull", "--progress", "plain"]);
    expect(pulled.code).toBe(1);
    expect(pulled.stderr).toContain("--pull");
    expect(pulled.stderr).toContain(base.split(":latest")[0]!);
  }, E2E_TIMEOUT);

  test("--platform: repeated and comma-separated, deduplicated; the image is for that platform", async () => {
    const repo = uniqueRepo("flags-platform");
    const dir = stack({ [repo]: "" }, { Dockerfile: `FROM ${MULTIARCH_BASE}\nCOPY f /f\n`, f: "x\n" });
    created.push(`${repo}:latest`);
    const r = await imgb(dir, ["build", "--platform", "linux/arm64", "--platform", "linux/arm64,linux/arm64", "--progress", "plain"]);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(new TextDecoder().decode(docker("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", `${repo}:latest`).stdout).trim()).toBe("linux/arm64");
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("registry")))("imgb build flags (oci flavor)", () => {
  test("--platform with two platforms gives a two-entry index; --load has no engine to load into", async () => {
    const dir = tempDir();
    writeTree(dir, {
      "imgb.yaml": `image_builder: { flavor: oci }\ncontainer_registry: { uri: ${REGISTRY} }\nimages:\n  app: { context: . }\n`,
      Dockerfile: `FROM ${MULTIARCH_BASE}\nCOPY f /f\n`,
      f: "x\n",
    });
    const r = await imgb(dir, ["build", "--platform", "linux/amd64,linux/arm64", "--output", "oci-layout:./out", "--progress", "plain"]);
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    const index = JSON.parse(readFileSync(join(dir, "out/index.json"), "utf8"));
    const digest = (index.manifests[0].digest as string).replace("sha256:", "");
    const inner = JSON.parse(readFileSync(join(dir, "out/blobs/sha256", digest), "utf8"));
    const platforms = (inner.manifests ?? index.manifests).map((m: { platform?: { os: string; architecture: string } }) => `${m.platform?.os}/${m.platform?.architecture}`);
    expect(platforms.sort()).toEqual(["linux/amd64", "linux/arm64"]);
    const load = await imgb(dir, ["build", "--load"]);
    expect(load.code).toBe(2);
    expect(load.stderr).toContain("error: --load: flavor 'oci' has no local engine to load images into");
  }, E2E_TIMEOUT);
});
