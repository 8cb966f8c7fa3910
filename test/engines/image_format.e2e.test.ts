/**
 * Docker-only image config (HEALTHCHECK, SHELL) is never lost by podman and buildah, whose
 * default format (OCI) has no place for it: with `format: auto` (the default) the image is built
 * in Docker format when the target uses them, and stays OCI otherwise. Checked on what the
 * registry serves (manifest media type, config blob), not on the engine's local view; an
 * explicit `format: oci` is refused, naming the Dockerfile line (that no engine command runs
 * then is checked against a fake engine in flavors/_containers/builder.test.ts).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors.ts";
import { BASE_IMAGE, E2E_TIMEOUT, PODMAN_URL, REGISTRY, requireEngine, uniqueRepo, type EngineName } from "../helpers/testenv.ts";
import { build, makeFixture, removeFixture } from "./_scenario.ts";

const roots: string[] = [];
afterAll(() => roots.forEach(removeFixture));

const cases: { label: string; needs: EngineName; flavor: string; config: Record<string, unknown> }[] = [
  { label: "podman", needs: "podman", flavor: "podman", config: { binary: "podman", layers: true, format: "auto" } },
  { label: "podman service", needs: "podman-service", flavor: "podman", config: { binary: "podman", layers: true, format: "auto", url: PODMAN_URL } },
  { label: "buildah", needs: "buildah", flavor: "buildah", config: { binary: "buildah", layers: true, format: "auto" } },
];

// The HEALTHCHECK is in the stage the target is built FROM: inherited config counts too.
const WITH_HEALTHCHECK = `FROM ${BASE_IMAGE} AS base
HEALTHCHECK --interval=5s CMD true
FROM base
SHELL ["/bin/sh", "-ec"]
COPY a /a
`;

async function pushed(repo: string, digest: string): Promise<{ mediaType: string; config: { Healthcheck?: { Test: string[] }; Shell?: string[] } }> {
  const accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
  const manifest = (await (await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${digest}`, { headers: { Accept: accept } })).json()) as { mediaType?: string; config: { mediaType: string; digest: string } };
  const config = (await (await fetch(`http://${REGISTRY}/v2/${repo}/blobs/${manifest.config.digest}`)).json()) as { config: { Healthcheck?: { Test: string[] }; Shell?: string[] } };
  return { mediaType: manifest.mediaType ?? manifest.config.mediaType, config: config.config };
}

for (const c of cases) {
  describe.skipIf(!(await requireEngine(c.needs, "registry")))(`${c.label}: image format`, () => {
    test("auto: HEALTHCHECK and SHELL reach the pushed image (docker format); without them it stays OCI", async () => {
      const root = makeFixture({ Dockerfile: WITH_HEALTHCHECK, a: "a\n", "plain/Dockerfile": `FROM ${BASE_IMAGE}\nCOPY a /a\n`, "plain/a": "a\n" });
      roots.push(root);
      const repo = uniqueRepo(`format-${c.label.replace(/\W/g, "-")}`);
      const { ref } = await build(c.flavor, c.config, root, repo, {}, { uri: REGISTRY, insecure: true });
      const docker = await pushed(repo, ref.slice(ref.indexOf("@") + 1));
      expect(docker.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
      expect(docker.config.Healthcheck?.Test).toEqual(["CMD-SHELL", "true"]);
      expect(docker.config.Shell).toEqual(["/bin/sh", "-ec"]);

      const plain = await build(c.flavor, c.config, `${root}/plain`, `${repo}-plain`, {}, { uri: REGISTRY, insecure: true });
      const oci = await pushed(`${repo}-plain`, plain.ref.slice(plain.ref.indexOf("@") + 1));
      expect(oci.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    }, E2E_TIMEOUT);

    test("format: oci with a HEALTHCHECK is an input error at its line", async () => {
      const root = makeFixture({ Dockerfile: WITH_HEALTHCHECK, a: "a\n" });
      roots.push(root);
      const e = await build(c.flavor, { ...c.config, format: "oci" }, root, uniqueRepo("format-oci"), {}).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).describe()).toBe(
        `${root}/Dockerfile:2:1: HEALTHCHECK needs the Docker image format, but the ${c.flavor} flavor's \`format\` is 'oci': an OCI image has no place for HEALTHCHECK, SHELL (the engine would drop it silently)`,
      );
    }, E2E_TIMEOUT);
  });
}
