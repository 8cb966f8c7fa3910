/** The run-end removal of the images a run made (made_images.ts): which references it picks, and that it removes them from a real engine. */
import { afterAll, describe, expect, test } from "bun:test";
import { madeReferences, rememberName, removeMadeImages } from "./made_images.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, requireEngine } from "./testenv.ts";
import { exec } from "../../src/exec.ts";
import { cleanupTempDirs } from "./tmp.ts";

afterAll(cleanupTempDirs);

test("picks repo:tag of a remembered name, the ID of its untagged images, nothing else", () => {
  const listing = [
    "127.0.0.1:5000/imgb-e2e/app-abc123 latest sha256:1",
    "127.0.0.1:5000/imgb-e2e/app-abc123 v1 sha256:1",
    "127.0.0.1:5000/imgb-e2e/app-abc123 <none> sha256:2",
    "localhost/imgb-e2e/app-abc123-base latest sha256:3",
    "127.0.0.1:5000/imgb-e2e/app-zzz999 latest sha256:4",
    "imgb-test/busybox latest sha256:5",
    "",
  ].join("\n");
  expect(madeReferences(listing, new Set(["imgb-e2e/app-abc123"]))).toEqual([
    "127.0.0.1:5000/imgb-e2e/app-abc123:latest",
    "127.0.0.1:5000/imgb-e2e/app-abc123:v1",
    "sha256:2",
    "localhost/imgb-e2e/app-abc123-base:latest",
  ]);
});

const haveDocker = await requireEngine("docker");
describe.skipIf(!haveDocker)("against dockerd", () => {
  test("an image tagged with a remembered name is gone afterwards; the base it was tagged from stays", async () => {
    const name = `imgb-e2e/made-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    rememberName(name);
    await exec([DOCKER_CLI, "-H", DOCKER_HOST, "tag", BASE_IMAGE, `${name}:t1`]);
    expect(await removeMadeImages([[DOCKER_CLI, "-H", DOCKER_HOST]])).toBeGreaterThanOrEqual(1);
    const left = await exec([DOCKER_CLI, "-H", DOCKER_HOST, "image", "inspect", `${name}:t1`]).then(() => "still there", () => "gone");
    expect(left).toBe("gone");
    await exec([DOCKER_CLI, "-H", DOCKER_HOST, "image", "inspect", BASE_IMAGE]);
  });
});
