/** docker flavor against the private dockerd of scripts/testenv.sh: BuildKit, classic, TCP. */
import { describe, test } from "bun:test";
import { DOCKER_CLI, DOCKER_HOST, DOCKER_TCP, requireEngine, E2E_TIMEOUT } from "../helpers/testenv.ts";
import { engineCli, roundTrip } from "./_scenario.ts";

const cli = engineCli([DOCKER_CLI, "-H", DOCKER_HOST], []);

describe.skipIf(!(await requireEngine("docker", "registry")))("docker flavor: build, push, digest, run", () => {
  test("BuildKit over the unix socket", async () => {
    await roundTrip("docker", { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, cli, true);
  }, E2E_TIMEOUT);

  test("classic builder", async () => {
    await roundTrip("docker", { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "classic" }, cli, true);
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("docker-tcp", "registry")))("docker flavor over tcp://", () => {
  test("BuildKit through tcp://127.0.0.1:2375", async () => {
    await roundTrip("docker", { binary: DOCKER_CLI, host: DOCKER_TCP, builder: "buildkit" }, engineCli([DOCKER_CLI, "-H", DOCKER_TCP], []), true);
  }, E2E_TIMEOUT);
});
