/** podman flavor: local storage, and a `podman system service` reached with `url`. */
import { describe, test } from "bun:test";
import { PODMAN_URL, requireEngine, E2E_TIMEOUT } from "../helpers/testenv.ts";
import { engineCli, PODMAN_RUN_FLAGS, roundTrip } from "./_scenario.ts";

const cli = engineCli(["podman"], PODMAN_RUN_FLAGS);

describe.skipIf(!(await requireEngine("podman", "registry")))("podman flavor (local): build, push, digest, run", () => {
  test("local storage", async () => {
    await roundTrip("podman", { binary: "podman", layers: true }, cli, false);
  }, E2E_TIMEOUT);
});

describe.skipIf(!(await requireEngine("podman-service", "registry")))("podman flavor (remote): build, push, digest, run", () => {
  test("through the podman service unix socket", async () => {
    await roundTrip("podman", { binary: "podman", layers: true, url: PODMAN_URL }, cli, false);
  }, E2E_TIMEOUT);
});
