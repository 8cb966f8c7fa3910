/** buildah flavor; the image is run with podman, which shares buildah's storage. */
import { describe, test } from "bun:test";
import { requireEngine, E2E_TIMEOUT } from "../helpers/testenv.ts";
import { engineCli, PODMAN_RUN_FLAGS, roundTrip } from "./_scenario.ts";

describe.skipIf(!(await requireEngine("buildah", "podman", "registry")))("buildah flavor: build, push, digest, run", () => {
  test("buildah bud + buildah push --digestfile", async () => {
    await roundTrip("buildah", { binary: "buildah", layers: true, format: "oci" }, engineCli(["podman"], PODMAN_RUN_FLAGS), false);
  }, E2E_TIMEOUT);
});
