/**
 * Named build contexts (`contexts:`, issue #17) through the compiled binary with the engines
 * that take `--build-context`: podman and buildah. A directory, a local image
 * (docker-image://) and another image of the stack (${images.NAME.ref}, pushed to the registry
 * and pulled back by digest) are each read by `COPY --from=NAME`; the built image is run to see
 * their files. Changing a file of the named directory rebuilds the image (the checksum covers
 * it); nothing changed reuses it.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { BASE_IMAGE, E2E_TIMEOUT, REGISTRY, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";
import { engineCli, PODMAN_RUN_FLAGS } from "./_scenario.ts";

const cli = engineCli(["podman"], PODMAN_RUN_FLAGS);
const created: string[] = [];
afterAll(async () => {
  await cli.forget(created);
  cleanupTempDirs();
});

function stack(flavor: string, base: string, app: string, registry: boolean): string {
  const dir = tempDir("imgb-named-ctx-");
  writeTree(dir, {
    "assets/a.txt": "asset-1\n",
    "base/Dockerfile": `FROM ${BASE_IMAGE}\nRUN echo from-base > /base.txt\n`,
    "app/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY --from=assets a.txt /a.txt\nCOPY --from=tools /bin/busybox /tools-busybox\nCOPY --from=b /base.txt /base.txt\n`,
    "imgb.yaml": [
      `image_builder: { flavor: ${flavor}, config: { binary: ${flavor} } }`,
      ...(registry ? [`container_registry: { uri: ${REGISTRY} }`] : []),
      "images:",
      `  ${base}: { context: base, network: none }`,
      `  ${app}:`,
      "    context: app",
      "    network: none",
      "    contexts:",
      "      assets: ./assets",
      `      tools: docker-image://${BASE_IMAGE}`,
      `      b: \${images.${base}.ref}`,
      "",
    ].join("\n"),
  });
  return dir;
}

async function build(dir: string, home: string): Promise<{ refs: string[]; stderr: string }> {
  const r = await runImgb(["build", "--progress", "plain"], { cwd: dir, env: { IMGB_HOME: home } });
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
  return { refs: r.stdout.trim().split("\n"), stderr: r.stderr };
}

for (const flavor of ["podman", "buildah"] as const) {
  const engines = flavor === "podman" ? (["podman", "registry"] as const) : (["buildah", "podman", "registry"] as const);
  describe.skipIf(!(await requireEngine(...engines)))(`named contexts (${flavor})`, () => {
    test("a directory, a local image and a stack image, read by COPY --from; the directory's files are in the checksum", async () => {
      const base = uniqueRepo(`${flavor}-ctx-base`);
      const app = uniqueRepo(`${flavor}-ctx-app`);
      const dir = stack(flavor, base, app, false);
      const home = tempDir("imgb-named-ctx-home-");
      const first = await build(dir, home);
      created.push(`${base}:latest`, `${app}:latest`);
      expect(first.refs).toEqual([`${base}:latest`, `${app}:latest`]);
      expect(await cli.run(`${app}:latest`, "cat /a.txt /base.txt; test -x /tools-busybox && echo tools")).toBe("asset-1\nfrom-base\ntools");

      expect((await build(dir, home)).stderr).toMatch(new RegExp(`${app.replace(/[/.]/g, "\\$&")} +reused`));
      writeFileSync(join(dir, "assets/a.txt"), "asset-2\n");
      expect((await build(dir, home)).stderr).toMatch(new RegExp(`${app.replace(/[/.]/g, "\\$&")} +built`));
      expect(await cli.run(`${app}:latest`, "cat /a.txt")).toBe("asset-2");
    }, E2E_TIMEOUT);
  });
}

describe.skipIf(!(await requireEngine("podman", "registry")))("named contexts (podman, registry)", () => {
  test("${images.NAME.ref} is the pushed digest reference, pulled back for the context", async () => {
    const base = uniqueRepo("podman-ctx-base");
    const app = uniqueRepo("podman-ctx-app");
    const dir = stack("podman", base, app, true);
    const { refs } = await build(dir, tempDir("imgb-named-ctx-home-"));
    created.push(...refs, `${REGISTRY}/${base}:latest`, `${REGISTRY}/${app}:latest`);
    expect(refs).toHaveLength(2);
    expect(refs[0]).toStartWith(`${REGISTRY}/${base}@sha256:`);
    expect(await cli.run(refs[1]!, "cat /a.txt /base.txt")).toBe("asset-1\nfrom-base");
  }, E2E_TIMEOUT);
});
