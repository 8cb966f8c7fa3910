/**
 * Hardening class "partial context", for the oci flavor: it reads context files itself (the
 * Dockerfile, COPY sources into its own layers), so each read must prove the file is still the
 * one the checksum pass walked. A same-size rewrite with its mtime put back (only ctime tells)
 * must fail the build with `context.changed` naming the file, and push nothing: before, the
 * image was built from the new bytes and labelled with the old checksum.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { linkSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import oci from "../../flavors/oci/flavor.ts";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext } from "../../src/context/build_context.ts";
import { RuntimeError } from "../../src/errors.ts";
import { E2E_TIMEOUT, REGISTRY, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

const EPOCH = 1_700_000_000;

function fixture(dockerfile: string): string {
  const root = tempDir("imgb-partial-oci-");
  const files = { Dockerfile: dockerfile, "a.txt": "aaaa", "b.txt": "0123456789" };
  writeTree(root, files);
  // Whole seconds, so putting an mtime back restores it exactly (a Date holds only milliseconds).
  for (const name of Object.keys(files)) utimesSync(join(root, name), EPOCH, EPOCH);
  return root;
}

/** As run_build does it: the checksum pass (`files()`), then the flavor's build to the registry. */
async function build(context: BuildContext, repo: string): Promise<unknown> {
  const Builder = await oci.implementation();
  const config = { output: "registry", platform: "linux/amd64", insecure_registries: [], compression_level: 1 };
  const builder = new Builder(config as never, { log: () => {}, signal: new AbortController().signal, report: () => {} });
  return builder.build(repo, context, defaultBuildOptions({}), { uri: REGISTRY, insecure: true }).then(
    (ref) => ref,
    (e: unknown) => e,
  );
}

/** Rewrite `path` with other bytes of the same size and put its mtime back: only ctime and the content differ. */
async function rewriteSameSize(path: string, bytes: string): Promise<void> {
  const before = statSync(path);
  await Bun.sleep(20); // past the file system's timestamp granularity, so ctime moves
  writeFileSync(path, bytes);
  utimesSync(path, EPOCH, EPOCH);
  expect(statSync(path).size).toBe(before.size);
  expect(statSync(path).mtimeMs).toBe(before.mtimeMs);
}

async function tags(repo: string): Promise<number> {
  return (await fetch(`http://${REGISTRY}/v2/${repo}/tags/list`)).status;
}

function expectChanged(result: unknown, file: string): void {
  expect(result).toBeInstanceOf(RuntimeError);
  expect((result as RuntimeError).code).toBe("context.changed");
  expect((result as Error).message).toContain(`"${file}"`);
  expect((result as Error).message).toMatch(/rewritten or replaced after it was checksummed/);
}

describe.skipIf(!(await requireEngine("registry")))("partial context, oci flavor", () => {
  test("a COPY source rewritten (same size, mtime reset) after the checksum pass: context.changed, nothing pushed", async () => {
    const root = fixture("FROM scratch\nCOPY a.txt b.txt /\n");
    const context = new BuildContext({ root });
    await context.files();
    await rewriteSameSize(join(root, "b.txt"), "9876543210");
    const repo = uniqueRepo("partial-oci");
    expectChanged(await build(context, repo), join(root, "b.txt"));
    expect(await tags(repo)).toBe(404);
  }, E2E_TIMEOUT);

  test("the Dockerfile rewritten the same way: context.changed naming it, nothing pushed", async () => {
    const root = fixture("FROM scratch\nCOPY a.txt /x\n");
    const context = new BuildContext({ root });
    await context.files();
    await rewriteSameSize(join(root, "Dockerfile"), "FROM scratch\nCOPY b.txt /x\n");
    const repo = uniqueRepo("partial-oci");
    expectChanged(await build(context, repo), join(root, "Dockerfile"));
    expect(await tags(repo)).toBe(404);
  }, E2E_TIMEOUT);

  test("control: the same context untouched (a hard link included) builds and pushes", async () => {
    const root = fixture("FROM scratch\nCOPY . /ctx/\n");
    linkSync(join(root, "b.txt"), join(root, "c.txt"));
    const context = new BuildContext({ root });
    await context.files();
    const repo = uniqueRepo("partial-oci");
    expect(await build(context, repo)).toStartWith(`${REGISTRY}/${repo}`);
    expect(await tags(repo)).toBe(200);
  }, E2E_TIMEOUT);
});
