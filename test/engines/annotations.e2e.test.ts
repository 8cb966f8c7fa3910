/**
 * Annotations reach the pushed manifest (issue #13, item 4), read back from the registry: the
 * oci flavor writes them natively on every platform manifest and on the index; podman and
 * buildah with `--annotation`, in OCI format (the Docker format has no place for them, and a
 * Docker-format build with annotations is refused instead of losing them).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { InputError } from "../../src/errors.ts";
import { OciImageBuilder } from "../../flavors/oci/builder.ts";
import { BASE_IMAGE, E2E_TIMEOUT, REGISTRY, requireEngine, uniqueRepo, type EngineName } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";
import { build } from "./_scenario.ts";

afterAll(cleanupTempDirs);

const registry = { uri: REGISTRY, insecure: true };
const ANNOTATIONS = { "org.opencontainers.image.source": "https://example.com/team/app", "com.example.build": "42" };
const ACCEPT = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

interface Manifest {
  mediaType?: string;
  annotations?: Record<string, string>;
  manifests?: { digest: string }[];
}

async function manifest(repo: string, reference: string): Promise<Manifest> {
  const res = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${reference}`, { headers: { Accept: ACCEPT } });
  expect(res.status).toBe(200);
  return (await res.json()) as Manifest;
}

function context(dockerfile: string): string {
  const root = tempDir("imgb-annot-");
  writeFileSync(join(root, "Dockerfile"), dockerfile);
  writeFileSync(join(root, "a"), "a\n");
  return root;
}

describe.skipIf(!(await requireEngine("registry")))("oci flavor: annotations", () => {
  test("on the manifest of a single-platform image, and on the index and each manifest of a multi-platform one", async () => {
    const root = context("FROM scratch\nCOPY a /a\n");
    const builder = new OciImageBuilder({}, { log() {}, signal: new AbortController().signal, report() {} });
    const single = uniqueRepo("annot-oci");
    const ref = await builder.build(single, new BuildContext({ root }), defaultBuildOptions({ annotations: ANNOTATIONS }), registry);
    const m = await manifest(single, ref.slice(ref.indexOf("@") + 1));
    expect(m.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(m.annotations).toEqual(ANNOTATIONS);

    const multi = uniqueRepo("annot-oci-multi");
    const iref = await builder.build(multi, new BuildContext({ root }), defaultBuildOptions({ annotations: ANNOTATIONS, platforms: ["linux/amd64", "linux/arm64"] }), registry);
    const index = await manifest(multi, iref.slice(iref.indexOf("@") + 1));
    expect(index.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(index.annotations).toEqual(ANNOTATIONS);
    expect(index.manifests).toHaveLength(2);
    for (const d of index.manifests!) expect((await manifest(multi, d.digest)).annotations).toEqual(ANNOTATIONS);

    // No annotations: no field at all, so images built before the key existed keep their digest.
    const plainRepo = uniqueRepo("annot-oci-none");
    const plain = await builder.build(plainRepo, new BuildContext({ root }), defaultBuildOptions(), registry);
    expect((await manifest(plainRepo, plain.slice(plain.indexOf("@") + 1))).annotations).toBeUndefined();
  }, E2E_TIMEOUT);
});

const containers: { engine: "podman" | "buildah"; needs: EngineName }[] = [
  { engine: "podman", needs: "podman" },
  { engine: "buildah", needs: "buildah" },
];

for (const c of containers) {
  describe.skipIf(!(await requireEngine(c.needs, "registry")))(`${c.engine}: annotations`, () => {
    const config = { binary: c.engine, layers: true, format: "auto" };

    test("--annotation lands on the pushed OCI manifest, also when every step is in the engine's cache", async () => {
      const repo = uniqueRepo(`annot-${c.engine}`);
      const root = context(`FROM ${BASE_IMAGE}\nCOPY a /a\n`);
      writeFileSync(join(root, "a"), `${repo}\n`);
      // Built once without annotations: with --layers the engine would hand this image back for
      // the annotated build, without them, if the last step did not depend on them.
      await build(c.engine, config, root, `${repo}-plain`, {}, registry);
      const { ref, logs } = await build(c.engine, config, root, repo, { annotations: ANNOTATIONS }, registry);
      expect(logs.some((l) => l.startsWith("--> Using cache "))).toBe(true);
      const m = await manifest(repo, ref.slice(ref.indexOf("@") + 1));
      expect(m.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
      expect(m.annotations).toMatchObject(ANNOTATIONS);
    }, E2E_TIMEOUT);

    test("a Docker-format build (HEALTHCHECK) with annotations is refused before anything is pushed", async () => {
      const repo = uniqueRepo(`annot-${c.engine}-docker`);
      const e = await build(c.engine, config, context(`FROM ${BASE_IMAGE}\nHEALTHCHECK CMD true\nCOPY a /a\n`), repo, { annotations: ANNOTATIONS }, registry).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).message).toContain(`Annotations need the OCI image format, but this image is built in Docker format: ${c.engine} would drop them silently`);
      expect((await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)).status).toBe(404);
    }, E2E_TIMEOUT);
  });
}
