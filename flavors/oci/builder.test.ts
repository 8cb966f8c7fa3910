/**
 * Reproducibility of whole builds without a registry (output oci-layout): the same inputs give
 * the same digest, pinned here as a constant so a change on another machine or in the code
 * shows up; SOURCE_DATE_EPOCH sets every timestamp; inline context entries are copyable.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { quietBuilderEnv } from "../../src/builder/base_image_builder.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { OciImageBuilder, parseOutput } from "./builder.ts";

afterAll(cleanupTempDirs);

const config = (output: string) => ({ output, platform: "linux/amd64", insecure_registries: [], compression_level: 1 });

async function build(root: string, epoch: number, extra?: (c: BuildContext) => void) {
  const out = join(tempDir("imgb-oci-out-"), "layout");
  const context = new BuildContext({ root, sourceDateEpoch: epoch });
  extra?.(context);
  const report: { digest?: string } = {};
  await new OciImageBuilder(config(`oci-layout:${out}`), { ...quietBuilderEnv(), report: (f) => Object.assign(report, f) }).build("app:v1", context, defaultBuildOptions(), undefined);
  const blob = (d: string) => JSON.parse(readFileSync(join(out, "blobs/sha256", d.slice(7)), "utf8"));
  const manifest = blob(report.digest!);
  return { digest: report.digest!, config: blob(manifest.config.digest), manifest };
}

describe("oci builds are reproducible", () => {
  const root = tempDir("imgb-oci-ctx-");
  writeTree(root, { Dockerfile: "FROM scratch\nENV A=1\nCOPY app/ /app/\nCOPY --chown=1:1 --chmod=640 VERSION /etc/\nCMD [\"/app/run\"]\n", "app/run": "#!/bin/sh\n", "app/lib/x": "x\n" });
  // Modes come from disk: fix them so the umask of the machine running the test does not matter.
  for (const [path, mode] of [["Dockerfile", 0o644], ["app", 0o755], ["app/run", 0o755], ["app/lib", 0o755], ["app/lib/x", 0o644]] as const) chmodSync(join(root, path), mode);

  test("same inputs, same digest (pinned), SOURCE_DATE_EPOCH in every timestamp", async () => {
    const a = await build(root, 1700000000, (c) => c.addContent("1.2.3\n", "VERSION"));
    const b = await build(root, 1700000000, (c) => c.addContent("1.2.3\n", "VERSION"));
    expect(b.digest).toBe(a.digest);
    expect(a.config.created).toBe("2023-11-14T22:13:20Z");
    expect(a.config.history.every((h: { created: string }) => h.created === "2023-11-14T22:13:20Z")).toBe(true);
    expect(a.manifest.layers).toHaveLength(2);
    // Pinned: a different value means images built by another imgb version or machine differ.
    expect(a.digest).toBe("sha256:497e36fb9901bda242b083f3606ae7aed36e1e09e8a55f13594907f8222b2521");
    const c = await build(root, 0, (ctx) => ctx.addContent("1.2.3\n", "VERSION"));
    expect(c.digest).not.toBe(a.digest);
    expect(c.config.created).toBe("1970-01-01T00:00:00Z");
  });

  test("parseOutput", () => {
    expect(parseOutput("registry")).toEqual({ kind: "registry" });
    expect(parseOutput("oci-layout:out/x")).toEqual({ kind: "oci-layout", path: "out/x" });
    expect(parseOutput("docker-archive:/a.tar")).toEqual({ kind: "docker-archive", path: "/a.tar" });
    expect(() => parseOutput("tar:x")).toThrow("Invalid output");
  });
});
