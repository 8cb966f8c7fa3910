/**
 * The end-to-end test environment as the suites see it (started by `scripts/testenv.sh start`):
 * addresses, the test-only credentials, the base image, and `requireEngine()`, which decides
 * whether a suite runs.
 *
 *   const ready = await requireEngine("docker", "registry");
 *   describe.skipIf(!ready)("docker", () => { … });
 *
 * Unavailable engine: with CI=true a failing test is registered (CI must never pass by
 * skipping); locally the suite is skipped and the reason printed. `requireTool()` does the same
 * for a program or file. Every skip in a test goes through one of the two: no suite decides on
 * its own condition (it would pass silently in CI when the thing is missing).
 */
import { test } from "bun:test";
import { MANIFEST_ACCEPT } from "../../src/image/image.ts";
import { exec } from "../../src/exec.ts";
import { rememberName } from "./made_images.ts";

export const RUN_DIR = "/run/imgb-test";
export const DOCKER_SOCK = `${RUN_DIR}/docker.sock`;
export const DOCKER_HOST = `unix://${DOCKER_SOCK}`;
export const DOCKER_TCP = "tcp://127.0.0.1:2375";
/** Builder nodes: a second dockerd (its unix socket, tcp, and ssh through the test sshd with a private client config). */
export const DOCKER2_HOST = `unix://${RUN_DIR}/docker2.sock`;
export const DOCKER2_TCP = "tcp://127.0.0.1:2376";
export const DOCKER2_SSH = "ssh://root@127.0.0.1:2222";
export const SSH_CONFIG = `${RUN_DIR}/ssh/client_config`;
export const PODMAN_URL = `unix://${RUN_DIR}/podman.sock`;
/** The Debian docker client: it has BuildKit built in (the v28 client on PATH needs buildx). */
export const DOCKER_CLI = "/usr/bin/docker";
export const REGISTRY = "127.0.0.1:5000";
export const AUTH_REGISTRY = "127.0.0.1:5001";
export const AUTH_USER = "imgb";
/** Test-only password of the throwaway registry on 127.0.0.1:5001 (see scripts/testenv.sh). */
export const AUTH_PASSWORD = "imgb-test-password";
export const BASE_IMAGE = "imgb-test/busybox:latest";
/** The same busybox for linux/arm64, in docker and in podman/buildah storage (scripts/testenv.sh). */
export const ARM64_BASE_IMAGE = "imgb-test/busybox:arm64";
/** A linux/amd64 + linux/arm64 index of that busybox in the registry on :5000: multi-platform builds FROM it. */
export const MULTIARCH_BASE = "127.0.0.1:5000/imgb-test/busybox-multi:latest";
/** Per-test timeout of the engine suites (a cold engine on 2 cores takes seconds per build). */
export const E2E_TIMEOUT = 120_000;

export type EngineName = "docker" | "docker-tcp" | "docker2" | "docker2-ssh" | "podman" | "podman-service" | "buildah" | "registry" | "auth-registry" | "skopeo";

const START_HINT = "start it with: scripts/testenv.sh start";

async function succeeds(argv: string[]): Promise<string | undefined> {
  try {
    await exec(argv);
    return undefined;
  } catch (e) {
    return (e as Error).message.split("\n").slice(0, 3).join(" ");
  }
}

async function httpStatus(url: string, expected: number): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.status === expected ? undefined : `${url} answered ${res.status}, expected ${expected}`;
  } catch (e) {
    return `${url} is not reachable: ${(e as Error).message}`;
  }
}

const checks: Record<EngineName, () => Promise<string | undefined>> = {
  docker: () => succeeds([DOCKER_CLI, "-H", DOCKER_HOST, "image", "inspect", "--format", "{{.Id}}", BASE_IMAGE]),
  "docker-tcp": () => succeeds([DOCKER_CLI, "-H", DOCKER_TCP, "version", "--format", "{{.Server.Version}}"]),
  docker2: () => succeeds([DOCKER_CLI, "-H", DOCKER2_TCP, "image", "inspect", "--format", "{{.Id}}", BASE_IMAGE]),
  "docker2-ssh": () => succeeds(["ssh", "-F", SSH_CONFIG, "root@127.0.0.1", DOCKER_CLI, "version", "--format", "{{.Server.Version}}"]),
  podman: () => succeeds(["podman", "image", "exists", BASE_IMAGE]),
  "podman-service": () => succeeds(["podman", "--remote", "--url", PODMAN_URL, "image", "exists", BASE_IMAGE]),
  buildah: () => succeeds(["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}", BASE_IMAGE]),
  registry: () => httpStatus(`http://${REGISTRY}/v2/`, 200),
  "auth-registry": () => httpStatus(`http://${AUTH_REGISTRY}/v2/`, 401),
  skopeo: () => succeeds(["skopeo", "--version"]),
};

const cache = new Map<EngineName, Promise<string | undefined>>();

/** True when every named service is up. See the file comment for what happens when not. */
export async function requireEngine(...names: EngineName[]): Promise<boolean> {
  const reasons: string[] = [];
  for (const name of names) {
    if (!cache.has(name)) cache.set(name, checks[name]());
    const reason = await cache.get(name)!;
    if (reason !== undefined) reasons.push(`${name}: ${reason}`);
  }
  return decide(names.join(", "), reasons, START_HINT);
}

/**
 * Like requireEngine() for something that is not a service: a program on PATH (default check)
 * or a file the test reads. `check` returns undefined when available, else the reason.
 *
 *   const haveBusybox = await requireTool("busybox");
 *   test.skipIf(!haveBusybox)("…", …);
 *   const haveSysfs = await requireTool("sysfs", () => (existsSync(SYSFS) ? undefined : `${SYSFS} is missing`));
 */
export async function requireTool(name: string, check: () => string | undefined | Promise<string | undefined> = () => (Bun.which(name) ? undefined : `'${name}' is not on PATH`)): Promise<boolean> {
  const reason = await check();
  return decide(name, reason === undefined ? [] : [`${name}: ${reason}`], "scripts/testenv.sh start installs the test tools");
}

/** Available: true. Not: with CI=true a failing test is registered, else the reason is printed. */
function decide(what: string, reasons: string[], hint: string): boolean {
  if (reasons.length === 0) return true;
  const message = `Test environment not available (${hint}): ${reasons.join("; ")}`;
  if (process.env.CI === "true") {
    test(`requires ${what}`, () => {
      throw new Error(message);
    });
  } else {
    console.log(`skip: ${message}`);
  }
  return false;
}

/** `docker -H host args…` with the pinned CLI: its trimmed stdout; a failure throws with its stderr. */
export async function dockerOn(host: string, args: string[]): Promise<string> {
  const p = Bun.spawn([DOCKER_CLI, "-H", host, ...args], { stdout: "pipe", stderr: "pipe" });
  const [code, out, err] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`docker -H ${host} ${args.join(" ")}: ${err}`);
  return out.trim();
}

/** A repository name no other test run uses, so suites can run in parallel and repeatedly. */
export function uniqueRepo(prefix: string): string {
  const name = `imgb-e2e/${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  rememberName(name); // its local images are removed when the run ends (made_images.ts)
  return name;
}



/** The digest the registry itself reports for `repo:tag` (`Docker-Content-Digest`). */
export async function registryDigest(registry: string, repo: string, tag: string, basicAuth?: { user: string; password: string }): Promise<string> {
  const headers: Record<string, string> = { Accept: MANIFEST_ACCEPT };
  if (basicAuth) headers.Authorization = `Basic ${btoa(`${basicAuth.user}:${basicAuth.password}`)}`;
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${tag}`, { method: "HEAD", headers });
  if (res.status !== 200) throw new Error(`Registry ${registry} has no manifest ${repo}:${tag}: HTTP ${res.status}`);
  const digest = res.headers.get("docker-content-digest");
  if (!digest) throw new Error(`Registry ${registry} sent no Docker-Content-Digest for ${repo}:${tag}`);
  return digest;
}

/** The sha256 of the manifest bytes the registry serves for `repo@digest` (a second, independent check). */
export async function manifestBytesDigest(registry: string, repo: string, digest: string): Promise<string> {
  const res = await fetch(`http://${registry}/v2/${repo}/manifests/${digest}`, { headers: { Accept: MANIFEST_ACCEPT } });
  if (res.status !== 200) throw new Error(`Registry ${registry} has no manifest ${repo}@${digest}: HTTP ${res.status}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/**
 * The command lines (`ps -eo args`) that `matches` picks, once none is left or `withinMs` has
 * passed. A cancelled build's RUN process is stopped by the daemon after the client is gone
 * (BuildKit, asynchronously): a check waits for that, up to a bound, instead of for a fixed time
 * that a loaded machine overruns (500 ms did, once in CI).
 */
export async function processesLeft(matches: (args: string) => boolean, withinMs = 15_000): Promise<string[]> {
  const started = performance.now();
  for (;;) {
    const left = (await exec(["ps", "-eo", "args"])).stdout.split("\n").filter((l) => l.trim() !== "" && matches(l));
    if (left.length === 0 || performance.now() - started >= withinMs) return left;
    await Bun.sleep(100);
  }
}
