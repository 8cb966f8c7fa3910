/**
 * Cancellation through `env.signal` stops the real engine mid-RUN: the builder rejects with
 * CancelledError quickly, the RUN step's process is gone (not left behind under runc), no temp
 * files remain, and buildah-style working containers are removed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BuildReport } from "../../src/builder/base_image_builder.ts";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { CancelledError } from "../../src/errors.ts";
import { exec } from "../../src/exec.ts";
import { DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine } from "../helpers/testenv.ts";
import { makeFixture, newBuilder, removeFixture } from "./_scenario.ts";

const dirs: string[] = [];
// A private TMPDIR for the builders' temporary files (inherited by the engines too): the shared
// /tmp holds other test runs' files, which come and go meanwhile.
const privateTmp = mkdtempSync(join(tmpdir(), "imgb-cancel-tmp-"));
const sharedTmpdir = process.env.TMPDIR;
process.env.TMPDIR = privateTmp;
afterAll(() => {
  dirs.forEach(removeFixture);
  if (sharedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = sharedTmpdir;
  rmSync(privateTmp, { recursive: true, force: true });
});
const temps = () => readdirSync(privateTmp).filter((n) => /^imgb-(docker|podman|buildah|context)-/.test(n)).sort();
const workingContainers = async () => (await exec(["buildah", "containers", "--quiet"])).stdout.split("\n").filter((l) => l !== "");

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
      // A duration of its own, to tell this RUN's sleep from other test runs' on the machine.
      const sleep = `sleep 45.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
      const dir = makeFixture({ Dockerfile: `FROM imgb-test/busybox:latest\nRUN echo ${marker} && ${sleep}\n` });
      dirs.push(dir);
      const before = temps();
      const containersBefore = c.needs === "docker" ? [] : await workingContainers();
      const ac = new AbortController();
      const logs: string[] = [];
      const builder = await newBuilder(c.flavor, c.config, logs, {} as BuildReport, ac.signal);
      const started = performance.now();
      const done = builder.build(`imgb-e2e/cancel`, new builder.buildContextClass({ root: dir }), defaultBuildOptions({ network: "none", noCache: true }));
      while (!logs.some((l) => l.includes(marker) && !l.includes("RUN"))) {
        if (performance.now() - started > 30_000) throw new Error(`the RUN step never started: ${logs.slice(-5).join(" / ")}`);
        await Bun.sleep(25);
      }
      ac.abort();
      expect(await done.then(() => "finished", (e) => e)).toBeInstanceOf(CancelledError);
      expect(performance.now() - started).toBeLessThan(30_000);
      await Bun.sleep(500); // the daemon-side cancel of BuildKit is asynchronous
      expect((await exec(["ps", "-eo", "args"])).stdout).not.toContain(sleep);
      expect(temps()).toEqual(before);
      // Only new ones count: other builds on the shared storage add and remove their own meanwhile.
      if (c.needs !== "docker") expect((await workingContainers()).filter((id) => !containersBefore.includes(id))).toEqual([]);
    }, E2E_TIMEOUT);
  });
}
