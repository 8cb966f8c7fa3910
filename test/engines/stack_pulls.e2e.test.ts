/**
 * An image built FROM another image of the stack, when the engine does not have that base
 * locally (built on another machine, reused from a record, or removed since): the engine must
 * pull it from the stack's registry with the push's settings — plain HTTP and the login — not
 * its defaults (podman/buildah: "server gave HTTP response to HTTPS client"; docker: 401).
 * Against the htpasswd registry, on every flavor: push a base, remove every local copy, build
 * on its digest, and check the result from the outside (the registry's digest).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { Secret } from "../../src/secret.ts";
import { exec } from "../../src/exec.ts";
import { AUTH_PASSWORD, AUTH_REGISTRY, AUTH_USER, BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, PODMAN_URL, registryDigest, requireEngine, uniqueRepo, type EngineName } from "../helpers/testenv.ts";
import { build, makeFixture, removeFixture } from "./_scenario.ts";

const roots: string[] = [];
afterAll(() => roots.forEach(removeFixture));

const cases: { label: string; needs: EngineName; flavor: string; config: Record<string, unknown>; cli: string[] }[] = [
  { label: "docker", needs: "docker", flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, cli: [DOCKER_CLI, "-H", DOCKER_HOST] },
  { label: "podman", needs: "podman", flavor: "podman", config: { binary: "podman", layers: true, format: "auto" }, cli: ["podman"] },
  { label: "podman service", needs: "podman-service", flavor: "podman", config: { binary: "podman", layers: true, format: "auto", url: PODMAN_URL }, cli: ["podman", "--remote", "--url", PODMAN_URL] },
  { label: "buildah", needs: "buildah", flavor: "buildah", config: { binary: "buildah", layers: true, format: "auto" }, cli: ["buildah"] },
];

const registry = () => ({ uri: AUTH_REGISTRY, insecure: true, credentials: { username: AUTH_USER, password: new Secret(AUTH_PASSWORD, "test") } });

for (const c of cases) {
  describe.skipIf(!(await requireEngine(c.needs, "auth-registry")))(`${c.label}: stack bases`, () => {
    test("a base of the stack that is not local is pulled with the registry's settings and login", async () => {
      const stamp = `${Date.now()}`;
      const baseRoot = makeFixture({ Dockerfile: `FROM ${BASE_IMAGE}\nCOPY base.txt /base.txt\n`, "base.txt": `${stamp}\n` });
      const appRoot = makeFixture({ Dockerfile: "ARG BASE\nFROM ${BASE}\nCOPY app.txt /app.txt\n", "app.txt": "app\n" });
      roots.push(baseRoot, appRoot);
      const baseRepo = uniqueRepo(`stackbase-${c.label.replace(/\W/g, "-")}`);
      const base = await build(c.flavor, c.config, baseRoot, baseRepo, { noCache: true }, registry());
      // Every local copy gone: by tag and, for docker, by the pushed digest too.
      for (const ref of [`${AUTH_REGISTRY}/${baseRepo}:latest`, base.ref]) await exec([...c.cli, "rmi", ref]).catch(() => {});
      await exec([...c.cli, "rmi", base.report.imageId!]).catch(() => {});
      expect(await exec([...c.cli, "image", "inspect", base.ref]).then(() => "still local", () => "gone")).toBe("gone");

      const appRepo = uniqueRepo(`stackapp-${c.label.replace(/\W/g, "-")}`);
      const app = await build(c.flavor, c.config, appRoot, appRepo, { buildArgs: { BASE: base.ref } }, registry());
      const digest = await registryDigest(AUTH_REGISTRY, appRepo, "latest", { user: AUTH_USER, password: AUTH_PASSWORD });
      expect(app.ref).toBe(`${AUTH_REGISTRY}/${appRepo}@${digest}`);
    }, E2E_TIMEOUT);
  });
}
