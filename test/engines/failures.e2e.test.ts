/**
 * Failures must be clear: each case runs against the real engine and checks the error's code,
 * its headline (what failed, the command) and that the engine's own last lines are attached.
 */
import { afterAll, describe, expect, test } from "bun:test";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { ExecError } from "../../src/exec.ts";
import { Secret } from "../../src/secret.ts";
import { AUTH_REGISTRY, AUTH_USER, DOCKER_CLI, DOCKER_HOST, RUN_DIR, requireEngine, E2E_TIMEOUT } from "../helpers/testenv.ts";
import { build, makeFixture, removeFixture } from "./_scenario.ts";

const engines = {
  "docker BuildKit": { flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, needs: "docker" },
  "docker classic": { flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "classic" }, needs: "docker" },
  podman: { flavor: "podman", config: { binary: "podman", layers: true }, needs: "podman" },
  buildah: { flavor: "buildah", config: { binary: "buildah", layers: true, format: "oci" }, needs: "buildah" },
} as const;

const failing = makeFixture({ Dockerfile: "FROM imgb-test/busybox:latest\nRUN echo about to fail && exit 3\n" });
const noBase = makeFixture({ Dockerfile: "FROM imgb-test/nonexistent:latest\nRUN true\n" });
const ok = makeFixture({ Dockerfile: "FROM imgb-test/busybox:latest\nCOPY a /a\n", a: "a\n" });
afterAll(() => [failing, noBase, ok].forEach(removeFixture));

const wrongPassword = "definitely-not-the-password";
const authRegistry = (): ContainerRegistry => ({ uri: AUTH_REGISTRY, insecure: true, credentials: { username: AUTH_USER, password: new Secret(wrongPassword, "test") } });

async function failure(p: Promise<unknown>): Promise<ExecError> {
  const e = await p.then(() => new Error("expected the build to fail, it succeeded"), (x) => x);
  expect(e).toBeInstanceOf(ExecError);
  return e as ExecError;
}

for (const [label, { flavor, config, needs }] of Object.entries(engines)) {
  describe.skipIf(!(await requireEngine(needs, "auth-registry")))(`${label}: clear errors`, () => {
    const cli = flavor === "buildah" ? "buildah bud" : `${flavor === "docker" ? DOCKER_CLI : "podman"} build`;

    test("a RUN that exits 3 names the step, the command, the exit code and the last lines", async () => {
      const e = await failure(build(flavor, config, failing, "imgb-e2e/fails", {}));
      expect(e.code).toBe("build.step-failed");
      expect(e.shortMessage).toStartWith("Build of image 'imgb-e2e/fails' failed: a build step (");
      expect(e.shortMessage).toContain("exit 3) exited with code 3: ");
      expect(e.command).toContain(cli);
      expect(e.exitStatus).toBeGreaterThan(0);
      expect(e.message).toContain("about to fail");
    }, E2E_TIMEOUT);

    test("a missing base image says which", async () => {
      const e = await failure(build(flavor, config, noBase, "imgb-e2e/nobase", {}));
      expect(e.code).toBe("build.base-image-missing");
      expect(e.shortMessage).toContain("imgb-test/nonexistent:latest");
    }, E2E_TIMEOUT);

    test("a Dockerfile missing from the context is named", async () => {
      const e = (await build(flavor, config, ok, "imgb-e2e/nofile", {}, undefined, "build/app.Dockerfile").catch((x) => x)) as ExecError;
      expect(e.code).toBe("build.dockerfile-missing");
      expect(e.message).toStartWith(flavor === "docker" ? "Build of image 'imgb-e2e/nofile' failed: the Dockerfile \"build/app.Dockerfile\" is missing" : 'The Dockerfile "build/app.Dockerfile" is missing from the build context');
    }, E2E_TIMEOUT);

    test("a wrong registry password is refused, and the password is not in the error", async () => {
      const e = await failure(build(flavor, config, ok, "imgb-e2e/auth", {}, authRegistry()));
      expect(e.code).toBe("registry.auth-refused");
      expect(e.shortMessage).toStartWith(`Login to registry '${AUTH_REGISTRY}' failed: the registry refused the credentials`);
      expect(`${e.message}\n${e.command}\n${JSON.stringify(e)}`).not.toContain(wrongPassword);
    }, E2E_TIMEOUT);
  });
}

describe.skipIf(!(await requireEngine("docker")))("engine not reachable", () => {
  const nowhere = `unix://${RUN_DIR}/no-daemon-here.sock`;

  test("docker: host pointing at a socket with no daemon", async () => {
    for (const builder of ["buildkit", "classic"]) {
      const e = await failure(build("docker", { binary: DOCKER_CLI, host: nowhere, builder }, ok, "imgb-e2e/nodaemon", {}));
      expect(e.code).toBe("engine.unreachable");
      expect(e.shortMessage).toStartWith(`Build of image 'imgb-e2e/nodaemon' failed: the Docker daemon at "${nowhere}" is not reachable`);
    }
  }, E2E_TIMEOUT);

  test("podman: url pointing at a socket with no service", async () => {
    const e = await failure(build("podman", { binary: "podman", layers: true, url: nowhere }, ok, "imgb-e2e/nodaemon", {}));
    expect(e.code).toBe("engine.unreachable");
    expect(e.shortMessage).toContain(`the podman service at "${nowhere}" is not reachable`);
  }, E2E_TIMEOUT);
});
