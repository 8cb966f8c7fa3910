/** Each flavor's probe against the real engines: available when usable, a reason and a hint when not. */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, PODMAN_URL, RUN_DIR, requireEngine } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { build, flavors, makeFixture, removeFixture } from "./_scenario.ts";

afterAll(cleanupTempDirs);

/** A docker CLI 28 without buildx: version says so (Go template of either field), `buildx` fails. */
function newCliStandIn(): string {
  const path = join(tempDir("imgb-docker28-"), "docker");
  writeFileSync(
    path,
    `#!/bin/sh
case "$1" in
  version)
    server=$(${DOCKER_CLI} version --format '{{.Server.Version}}') || exit 1
    case "$*" in *Server*) echo "28.0.0 $server";; *) echo "28.0.0";; esac; exit 0;;
  buildx) echo "docker: 'buildx' is not a docker command." >&2; exit 1;;
esac
exec ${DOCKER_CLI} "$@"
`,
  );
  chmodSync(path, 0o755);
  return path;
}

const probe = (flavor: string, config: Record<string, unknown>) => flavors[flavor]!.probe!(config as never);
const nowhere = `unix://${RUN_DIR}/no-daemon-here.sock`;
/** What an engine on this machine reports as its platform (builder nodes schedule by it). */
const HOST_PLATFORM = `linux/${process.arch === "x64" ? "amd64" : process.arch}`;
const up = (engine: string) => ({ available: true, version: expect.stringMatching(new RegExp(`^${engine} \\d+\\.\\d+`)), platforms: [HOST_PLATFORM] });

describe.skipIf(!(await requireEngine("docker")))("docker probe", () => {
  test("reachable daemon, unreachable daemon", async () => {
    expect(await probe("docker", { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" })).toEqual(up("docker"));
    const down = await probe("docker", { binary: DOCKER_CLI, host: nowhere, builder: "buildkit" });
    expect(down.available).toBe(false);
    expect(down.reason).toStartWith(`The Docker daemon at ${nowhere} is not reachable: Cannot connect to the Docker daemon`);
  }, E2E_TIMEOUT);

  // A docker CLI >= 23 without the buildx plugin cannot use BuildKit. Some machine images have
  // one at /usr/local/bin; where there is none (a fresh Debian CI machine) a stand-in plays it:
  // it reports client 28.0.0 and has no buildx, and hands everything else to the Debian CLI.
  test("a new docker CLI without buildx: BuildKit unavailable, classic available", async () => {
    const cli = existsSync("/usr/local/bin/docker") ? "/usr/local/bin/docker" : newCliStandIn();
    const version = (await Bun.$`${cli} version --format {{.Client.Version}}`.env({ ...process.env, DOCKER_HOST }).nothrow().text()).trim();
    const hasBuildx = (await Bun.$`${cli} buildx version`.nothrow().quiet()).exitCode === 0;
    const bk = await probe("docker", { binary: cli, host: DOCKER_HOST, builder: "buildkit" });
    if (Number(version.split(".")[0]) >= 23 && !hasBuildx) {
      expect(bk).toMatchObject({ available: false, reason: expect.stringContaining("buildx plugin"), hint: expect.stringContaining("builder: classic") });
    } else {
      expect(bk.available).toBe(true);
    }
    expect(await probe("docker", { binary: cli, host: DOCKER_HOST, builder: "classic" })).toEqual(up("docker"));
  }, E2E_TIMEOUT);

  // The same CLI picked by `binary: docker` from PATH (a real user setup), when the probe is not asked first.
  test("a build with that CLI fails with what is missing and the fix, not the raw buildx message", async () => {
    const cli = existsSync("/usr/local/bin/docker") && (await Bun.$`/usr/local/bin/docker buildx version`.nothrow().quiet()).exitCode !== 0 ? "/usr/local/bin/docker" : newCliStandIn();
    const root = makeFixture({ Dockerfile: "FROM imgb-test/busybox:latest\n" });
    try {
      const e = (await build("docker", { binary: cli, host: DOCKER_HOST, builder: "buildkit" }, root, "imgb-e2e/buildx-missing", {}).catch((x) => x)) as { code: string; shortMessage: string; hint: string };
      expect(e.code).toBe("engine.buildx-missing");
      expect(e.shortMessage).toStartWith("Build of image 'imgb-e2e/buildx-missing' failed: this docker CLI needs the buildx plugin for BuildKit, and it is missing: ");
      expect(e.hint).toContain("`binary:`");
      expect(e.hint).toContain("builder: classic");
    } finally {
      removeFixture(root);
    }
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("podman", "podman-service", "buildah")))("podman and buildah probes", () => {
  test("local, service, unreachable service, buildah", async () => {
    expect(await probe("podman", { binary: "podman", layers: true, format: "auto" })).toEqual(up("podman"));
    expect(await probe("podman", { binary: "podman", layers: true, format: "auto", url: PODMAN_URL })).toEqual(up("podman"));
    const down = await probe("podman", { binary: "podman", layers: true, format: "auto", url: nowhere });
    expect(down).toMatchObject({ available: false, reason: expect.stringContaining(`The podman service at ${nowhere} is not reachable`) });
    expect(await probe("buildah", { binary: "buildah", layers: true, format: "oci" })).toEqual({ available: true });
  }, E2E_TIMEOUT);
});
