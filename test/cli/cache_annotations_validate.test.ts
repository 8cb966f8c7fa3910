/**
 * `imgb validate` refuses the registry cache and annotation settings a flavor cannot honour
 * (issue #13, items 3 and 4), each at its key, with exit code 2 — the same refusals the build
 * would end with, found before anything runs (no engine is needed). `imgb print` shows the keys.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runImgb } from "../helpers/binary.ts";
import { cleanupTempDirs, tempDir } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

function stack(flavor: string, config: string, image: string): string {
  const dir = tempDir("imgb-cache-validate-");
  writeFileSync(join(dir, "imgb.yaml"), `image_builder:\n  flavor: ${flavor}\n  config: ${config}\ncontainer_registry:\n  uri: 127.0.0.1:5000\nimages:\n  app:\n    dockerfile_inline: "FROM scratch\\nCOPY a /a\\n"\n${image}`);
  return dir;
}

async function validate(dir: string): Promise<{ code: number; lines: string[] }> {
  const r = await runImgb(["validate"], { cwd: dir });
  return { code: r.code, lines: r.stderr.split("\n").filter((l) => l.includes("error:")) };
}

describe("imgb validate: registry cache and annotations", () => {
  test("docker BuildKit: a registry export and annotations are refused; cache_from and type=inline are fine", async () => {
    const dir = stack("docker", "{ binary: /usr/bin/docker }", `    cache_from: [127.0.0.1:5000/app:latest]\n    cache_to: [type=inline, 127.0.0.1:5000/app-cache]\n    annotations: { org.opencontainers.image.source: "https://x" }\n`);
    const { code, lines } = await validate(dir);
    expect(code).toBe(2);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain("docker 20.10's built-in BuildKit cannot export a registry cache ('127.0.0.1:5000/app-cache')");
    expect(lines[0]).toContain("(at /images/app/cache_to/1)");
    expect(lines[1]).toContain("cannot set manifest annotations");
    expect(lines[1]).toContain("(at /images/app/annotations)");
    const ok = await validate(stack("docker", "{ binary: /usr/bin/docker }", `    cache_from: [127.0.0.1:5000/app:latest]\n    cache_to: [type=inline]\n`));
    expect(ok).toEqual({ code: 0, lines: [] });
  });

  test("docker classic: no cache export at all", async () => {
    const { code, lines } = await validate(stack("docker", "{ binary: /usr/bin/docker, builder: classic }", `    cache_to: [type=inline]\n`));
    expect(code).toBe(2);
    expect(lines[0]).toContain("classic builder exports no build cache");
  });

  test("podman: without layers, inline, a tagged repository; buildah: annotations in Docker format", async () => {
    const p = await validate(stack("podman", "{ layers: false }", `    cache_from: [127.0.0.1:5000/app-cache]\n    cache_to: [type=inline]\n`));
    expect(p.code).toBe(2);
    expect(p.lines.map((l) => l.match(/\(at (\S+)\)/)?.[1])).toEqual(["/images/app/cache_from/0", "/images/app/cache_to/0"]);
    const tagged = await validate(stack("podman", "{}", `    cache_to: ["type=registry,ref=127.0.0.1:5000/app-cache:v1"]\n`));
    expect(tagged.lines[0]).toContain("must have no tag");
    const b = await validate(stack("buildah", "{ format: docker }", `    annotations: { a: b }\n`));
    expect(b.code).toBe(2);
    expect(b.lines[0]).toContain("Annotations need the OCI image format");
    expect((await validate(stack("buildah", "{}", `    cache_from: [127.0.0.1:5000/app-cache]\n    cache_to: [127.0.0.1:5000/app-cache]\n    annotations: { a: b }\n`))).code).toBe(0);
  });

  test("oci: no cache to import or export; annotations are fine", async () => {
    const { code, lines } = await validate(stack("oci", "{}", `    cache_from: [127.0.0.1:5000/app:latest]\n    annotations: { a: b }\n`));
    expect(code).toBe(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("The oci flavor has no build cache to import");
  });

  test("a malformed entry is located at its line; a YAML flow list split at the comma gets the quoting hint", async () => {
    const r = await runImgb(["validate"], { cwd: stack("podman", "{}", `    cache_to: [type=registry,ref=127.0.0.1:5000/c]\n`) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/imgb\.yaml:9:\d+: error: Invalid cache_to entry "type=registry": type=registry needs ref=REF/);
    expect(r.stderr).toContain('quote an entry that holds commas: ["type=registry,ref=REF"]');
  });

  test("imgb print shows the resolved keys, and --set reaches them", async () => {
    const dir = stack("podman", "{}", `    cache_from: ["type=registry,ref=127.0.0.1:5000/app-cache"]\n    cache_to: [127.0.0.1:5000/app-cache]\n`);
    const r = await runImgb(["print", "--no-plan", "--set", "app.annotations.org.example.k=v"], { cwd: dir });
    expect(r.code).toBe(0);
    const app = JSON.parse(r.stdout).images.app;
    expect(app.cacheFrom).toEqual(["127.0.0.1:5000/app-cache"]);
    expect(app.cacheTo).toEqual([{ type: "registry", ref: "127.0.0.1:5000/app-cache" }]);
    expect(app.annotations).toEqual({ "org.example.k": "v" });
  });
});
