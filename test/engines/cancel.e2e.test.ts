/**
 * Cancellation through `env.signal` stops the real engine mid-RUN: the builder rejects with
 * CancelledError quickly, the RUN step's process is gone (not left behind under runc), no temp
 * files remain, and buildah-style working containers are removed. Temp files are looked for in
 * the test process's private TMPDIR (test/helpers/preload.ts), working containers by a base
 * image name of the test's own: other imgb runs on the machine cannot disturb either check.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import type { BuildReport } from "../../src/builder/base_image_builder.ts";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { CancelledError } from "../../src/errors.ts";
import { exec } from "../../src/exec.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, processesLeft, requireEngine } from "../helpers/testenv.ts";
import { makeFixture, newBuilder, removeFixture } from "./_scenario.ts";

const dirs: string[] = [];
const tags: string[] = [];
afterAll(async () => {
  dirs.forEach(removeFixture);
  // The names only (the image stays under BASE_IMAGE); also after a failed assertion.
  for (const tag of tags) await exec(["buildah", "rmi", tag]).catch(() => undefined);
});
/** Everything in the private TMPDIR: imgb's own temp dirs and the engine CLIs' (e.g. buildahNNN). */
const temps = () => readdirSync(tmpdir()).sort();
/**
 * Working containers made FROM `image`: other builds on the machine (other test runs) have their
 * own, so the check looks only at containers of this test's private base image name.
 */
const workingContainers = async (image: string) =>
  (await exec(["buildah", "containers", "--format", "{{.ContainerID}} {{.ImageName}}"])).stdout
    .split("\n")
    .filter((l) => l.endsWith(` ${image}`))
    .sort();

const cases = [
  { label: "docker BuildKit", flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, needs: "docker" },
  { label: "docker classic", flavor: "docker", config: { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "classic" }, needs: "docker" },
  { label: "podman", flavor: "podman", config: { binary: "podman", layers: true }, needs: "podman" },
  { label: "buildah", flavor: "buildah", config: { binary: "buildah", layers: true, format: "oci" }, needs: "buildah" },
] as const;

for (const c of cases) {
  describe.skipIf(!(await requireEngine(c.needs)))(`${c.label}: cancellation`, () => {
    test("abort during RUN stops the engine and its RUN process, and cleans up", async () => {
      const marker = `imgb-cancel-${Date.now()}-${c.label.replace(/\W/g, "")}`;
      // A sleep of its own length: other runs' RUN processes on the machine are not ours.
      const sleep = `sleep ${100 + Math.floor(Math.random() * 900)}`;
      // podman/buildah: the base image under a name of this test's own (see workingContainers).
      const base = c.needs === "docker" ? BASE_IMAGE : `localhost/${marker.toLowerCase()}:latest`;
      if (base !== BASE_IMAGE) {
        await exec(["buildah", "tag", BASE_IMAGE, base]);
        tags.push(base);
      }
      const dir = makeFixture({ Dockerfile: `FROM ${base}\nRUN echo ${marker} && ${sleep} && echo done\n` });
      dirs.push(dir);
      const before = temps();
      const ac = new AbortController();
      const logs: string[] = [];
      const builder = await newBuilder(c.flavor, c.config, logs, {} as BuildReport, ac.signal);
      const started = performance.now();
      const done = builder.build(`imgb-e2e/cancel`, new (builder.buildContextClass ?? BuildContext)({ root: dir }), defaultBuildOptions({ network: "none", noCache: true }));
      while (!logs.some((l) => l.includes(marker) && !l.includes("RUN"))) {
        if (performance.now() - started > 30_000) throw new Error(`the RUN step never started: ${logs.slice(-5).join(" / ")}`);
        await Bun.sleep(25);
      }
      ac.abort();
      expect(await done.then(() => "finished", (e) => e)).toBeInstanceOf(CancelledError);
      expect(performance.now() - started).toBeLessThan(30_000);
      const left = await processesLeft((l) => l.trim() === sleep || l.includes(marker)); // the daemon's cancel is asynchronous
      expect(left).toEqual([]);
      expect(temps()).toEqual(before);
      if (base !== BASE_IMAGE) expect(await workingContainers(base)).toEqual([]);
    }, E2E_TIMEOUT);
  });
}
