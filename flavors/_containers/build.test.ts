import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import type { ExecOptions } from "../../src/exec.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../../test/helpers/tmp.ts";
import { buildWithContainersTools, type ContainersEngine } from "./build.ts";

afterAll(cleanupTempDirs);

describe("buildWithContainersTools", () => {
  test("the engine's TMPDIR is the build's private directory, removed after a cancelled build with what the engine left in it", async () => {
    const root = tempDir();
    writeTree(root, { Dockerfile: "FROM scratch\nCOPY a /a\n", a: "a\n" });
    const seen: string[] = [];
    const engine: ContainersEngine = {
      name: "buildah",
      format: "auto",
      prefix: ["buildah"],
      where: {},
      digestFile: true,
      explicitDestination: true,
      localImageId: async () => undefined,
      untagArgv: (name) => ["buildah", "rmi", name],
      runsHere: true,
      log: () => {},
      signal: new AbortController().signal,
      report: () => {},
      buildArgv: (dir) => ["buildah", "build", dir],
      // What buildah does when it is killed mid-build: its temp file stays in TMPDIR.
      run: async (_argv: string[], options?: ExecOptions) => {
        const tmp = options?.env?.TMPDIR;
        if (!tmp) throw new Error("no TMPDIR given to the engine");
        seen.push(tmp);
        writeFileSync(`${tmp}/buildah1234567`, "left behind");
        throw new DOMException("cancelled", "AbortError");
      },
    };
    const err = await buildWithContainersTools(engine, "app", new BuildContext({ root }), defaultBuildOptions({})).catch((e) => e);
    expect(err?.name).toBe("AbortError");
    expect(seen.length).toBe(1);
    expect(seen[0]!.startsWith(`${tmpdir()}/imgb-buildah-`)).toBe(true);
    expect(existsSync(seen[0]!)).toBe(false);
  });
});
