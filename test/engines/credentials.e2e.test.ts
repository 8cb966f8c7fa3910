/**
 * Credentials never reach argv: during a whole build + login + push against the htpasswd
 * registry, a separate watcher scans /proc/<pid>/cmdline of every process. It must see the login
 * child (proof that it was looking at the right moment) and must never see the password.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Secret } from "../../src/secret.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, DOCKER_CLI, DOCKER_HOST, PODMAN_URL, registryDigest, requireEngine, E2E_TIMEOUT } from "../helpers/testenv.ts";
import { watchProcesses, type ProcHit } from "./_proc_watch.ts";
import { build, makeFixture, removeFixture } from "./_scenario.ts";

const fixture = makeFixture({ Dockerfile: "FROM imgb-test/busybox:latest\nCOPY a /a\nRUN sleep 1\n", a: `${Date.now()}\n` });
afterAll(() => removeFixture(fixture));

/** Runs `fn` while the watcher looks for the password and for `--password-stdin` in any argv. */
async function watchArgv(fn: () => Promise<string>): Promise<{ ref: string; leaks: number; loginsSeen: number }> {
  const watch = await watchProcesses({ argv: [AUTH_PASSWORD, "--password-stdin"] });
  let ref: string;
  let hits: ProcHit[] = [];
  try {
    ref = await fn();
  } finally {
    hits = await watch.stop();
  }
  return { ref, leaks: hits.filter((h) => h.needle === 0).length, loginsSeen: hits.filter((h) => h.needle === 1).length };
}

const registry = () => ({ uri: AUTH_REGISTRY, insecure: true, credentials: { username: AUTH_USER, password: new Secret(AUTH_PASSWORD, "test") } });
const cases = [
  { label: "docker", flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, needs: "docker" },
  { label: "podman", flavor: "podman", config: { binary: "podman", layers: true }, needs: "podman" },
  // Remote: login via the client's authfile, digest asked from the registry with the same credentials.
  { label: "podman service", flavor: "podman", config: { binary: "podman", layers: true, url: PODMAN_URL }, needs: "podman-service" },
  { label: "buildah", flavor: "buildah", config: { binary: "buildah", layers: true, format: "oci" }, needs: "buildah" },
] as const;

for (const c of cases) {
  describe.skipIf(!(await requireEngine(c.needs, "auth-registry")))(`${c.label}: credentials`, () => {
    test("the password is never in any process's argv, and the authenticated push returns the registry's digest", async () => {
      const repo = `imgb-e2e/creds-${c.label.replace(/\W/g, "-")}`;
      const { ref, leaks, loginsSeen } = await watchArgv(async () => (await build(c.flavor, c.config, fixture, repo, { noCache: true }, registry())).ref);
      expect(loginsSeen).toBeGreaterThan(0);
      expect(leaks).toBe(0);
      const digest = await registryDigest(AUTH_REGISTRY, repo, "latest", { user: AUTH_USER, password: AUTH_PASSWORD });
      expect(ref).toBe(`${AUTH_REGISTRY}/${repo}@${digest}`);
    }, E2E_TIMEOUT);
  });
}
