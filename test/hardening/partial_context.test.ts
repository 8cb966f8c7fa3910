/**
 * Hardening class "partial context": a context file that vanishes or changes between the
 * checksum pass and the end of the stream must fail the build with imgb's own error
 * (`context.changed`, naming the file), and the engine must be stopped before it can build from
 * a short or different context, even when it would exit 0 (docker's tar reader takes a stream
 * cut at an entry boundary as complete).
 *
 * Timing is deterministic, never a race: a.bin (4-8 MiB) comes first in sort order and the
 * writer produces 1 MiB chunks on demand, so b.txt is opened only after the tamper point
 * (a fake engine that tampers after its first 64 KiB, or a stream hook after the first chunk).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultBuildOptions } from "../../src/builder/build_options.ts";
import { BuildContext, type ArchiveOptions } from "../../src/context/build_context.ts";
import { RuntimeError } from "../../src/errors.ts";
import { exec } from "../../src/exec.ts";
import { newBuilder } from "../engines/_scenario.ts";
import { BASE_IMAGE, DOCKER_CLI, DOCKER_HOST, E2E_TIMEOUT, requireEngine, uniqueRepo } from "../helpers/testenv.ts";
import { cleanupTempDirs, tempDir, writeTree } from "../helpers/tmp.ts";

afterAll(cleanupTempDirs);

// Temp files the builder makes (its iidfile dir) go here while it runs, so the test can prove
// none is left.
const ownTmp = tempDir("imgb-partial-tmp-");
async function inOwnTmp<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = ownTmp;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
}
const settle = (p: Promise<unknown>) => inOwnTmp(() => p.then(() => undefined, (e: unknown) => e));

const DOCKERFILE = `FROM ${BASE_IMAGE}\nCOPY . /ctx/\n`;

function fixture(bigMiB = 4): string {
  const root = tempDir("imgb-partial-ctx-");
  writeTree(root, { "a.bin": new Uint8Array(bigMiB << 20).fill(7), "b.txt": "0123456789", "c.txt": "untouched", Dockerfile: DOCKERFILE });
  return root;
}

/**
 * A fake `docker`: takes `--iidfile`, reads `firstBytes` of stdin, runs `tamper` (shell), then
 * reads the rest into `got` (unless `readRest` is false), writes an image ID and exits 0. A
 * `done` file proves it ran to the end.
 */
function fakeDocker(opts: { firstBytes?: number; tamper?: string; readRest?: boolean }): { bin: string; got: string; done: string } {
  const dir = tempDir("imgb-fake-docker-");
  const got = join(dir, "got.tar");
  const done = join(dir, "done");
  const bin = join(dir, "docker");
  writeFileSync(
    bin,
    `#!/bin/sh
iid=""; prev=""
for a in "$@"; do [ "$prev" = "--iidfile" ] && iid="$a"; prev="$a"; done
${opts.firstBytes ? `head -c ${opts.firstBytes} > /dev/null` : ""}
${opts.tamper ?? ""}
${opts.readRest === false ? "" : `cat > '${got}'`}
echo sha256:${"0".repeat(64)} > "$iid"
echo done > '${done}'
exit 0
`,
  );
  chmodSync(bin, 0o755);
  return { bin, got, done };
}

async function fakeBuild(bin: string, context: BuildContext): Promise<unknown> {
  const builder = await newBuilder("docker", { binary: bin, builder: "buildkit" }, [], {});
  return settle(builder.build("imgb-partial/fake:t", context, defaultBuildOptions({ network: "none" })));
}

function expectChanged(err: unknown, file: string, how: RegExp): void {
  expect(err).toBeInstanceOf(RuntimeError);
  expect((err as RuntimeError).code).toBe("context.changed");
  expect((err as Error).message).toContain(`"${file}"`);
  expect((err as Error).message).toMatch(how);
  expect(readdirSync(ownTmp)).toEqual([]);
}

describe("partial context, fake engine that exits 0", () => {
  test("a file deleted mid-stream at an entry boundary: context.changed, the engine is killed before it finishes", async () => {
    const root = fixture();
    const fake = fakeDocker({ firstBytes: 65536, tamper: `rm -f '${join(root, "b.txt")}'` });
    const context = new BuildContext({ root });
    await context.files(); // the checksum pass
    const err = await fakeBuild(fake.bin, context);
    expectChanged(err, join(root, "b.txt"), /vanished while the build context was being sent/);
    expect(existsSync(fake.done)).toBe(false);
  }, 30_000);

  test("a file deleted between the checksum pass and the stream", async () => {
    const root = fixture(1);
    const fake = fakeDocker({});
    const context = new BuildContext({ root });
    await context.files();
    unlinkSync(join(root, "b.txt"));
    expectChanged(await fakeBuild(fake.bin, context), join(root, "b.txt"), /vanished/);
    expect(existsSync(fake.done)).toBe(false);
  }, 30_000);

  test("same size, same mtime, other content after the checksum pass: context.changed", async () => {
    const root = fixture(1);
    const fake = fakeDocker({});
    const context = new BuildContext({ root });
    const b = join(root, "b.txt");
    await context.files();
    const { atime, mtime } = statSync(b);
    writeFileSync(b, "9876543210");
    utimesSync(b, atime, mtime); // only ctime tells
    expectChanged(await fakeBuild(fake.bin, context), b, /rewritten or replaced after it was checksummed/);
  }, 30_000);

  test("a file rewritten mid-stream with the same size: context.changed", async () => {
    const root = fixture();
    const b = join(root, "b.txt");
    const fake = fakeDocker({ firstBytes: 65536, tamper: `printf 9876543210 > '${b}'` });
    const context = new BuildContext({ root });
    await context.files();
    expectChanged(await fakeBuild(fake.bin, context), b, /rewritten or replaced/);
    expect(existsSync(fake.done)).toBe(false);
  }, 30_000);

  test("an engine that exits 0 without reading its input fails the build", async () => {
    const root = fixture();
    const fake = fakeDocker({ readRest: false });
    const err = await fakeBuild(fake.bin, new BuildContext({ root }));
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe("exec.stdin-unread");
    expect((err as Error).message).toMatch(/^Command exited before reading all of its input/);
  }, 30_000);

  test("control: an unchanged context is read whole and the build succeeds", async () => {
    const root = fixture(1);
    const fake = fakeDocker({ firstBytes: 65536 });
    const context = new BuildContext({ root });
    await context.files();
    expect(await fakeBuild(fake.bin, context)).toBeUndefined();
    expect(existsSync(fake.done)).toBe(true);
    const whole = new Uint8Array(await new Response(context.stream()).arrayBuffer());
    expect(readFileSync(fake.got).length).toBe(whole.length - 65536);
  }, 30_000);
});

/** Runs `tamper` once the first chunk of the archive went by (the walk is long done by then). */
class TamperAfterFirstChunk extends BuildContext {
  tamper = () => {};
  override stream(options: ArchiveOptions = {}): ReadableStream<Uint8Array> {
    let chunks = 0;
    const tamper = this.tamper;
    return super.stream(options).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk);
          if (chunks++ === 0) tamper();
        },
      }),
    );
  }
}

describe.skipIf(!(await requireEngine("docker")))("partial context, real docker engine", () => {
  const dockerCli = [DOCKER_CLI, "-H", DOCKER_HOST];
  const imageExists = async (ref: string) => exec([...dockerCli, "image", "inspect", ref]).then(() => true, () => false);

  test.each(["buildkit", "classic"])("%s: a file deleted mid-stream fails the build with context.changed and tags no image", async (builderKind) => {
    const root = fixture(8);
    const context = new TamperAfterFirstChunk({ root });
    context.tamper = () => unlinkSync(join(root, "b.txt"));
    await context.files();
    const ref = `${uniqueRepo("partial")}:t`;
    const builder = await newBuilder("docker", { binary: DOCKER_CLI, host: DOCKER_HOST, builder: builderKind }, [], {});
    const err = await settle(builder.build(ref, context, defaultBuildOptions({ network: "none" })));
    expectChanged(err, join(root, "b.txt"), /vanished while the build context was being sent/);
    expect(await imageExists(ref)).toBe(false);
  }, E2E_TIMEOUT);

  test("control: the same setup, untouched, builds and tags the image with every file", async () => {
    const root = fixture(8);
    const context = new TamperAfterFirstChunk({ root });
    await context.files();
    const ref = `${uniqueRepo("partial")}:t`;
    const builder = await newBuilder("docker", { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, [], {});
    expect(await settle(builder.build(ref, context, defaultBuildOptions({ network: "none" })))).toBeUndefined();
    const ls = await exec([...dockerCli, "run", "--rm", "--network", "none", ref, "ls", "/ctx"]);
    expect(ls.stdout.split("\n")).toEqual(["Dockerfile", "a.bin", "b.txt", "c.txt"]);
    await exec([...dockerCli, "image", "rm", ref]);
  }, E2E_TIMEOUT);

  test("a file cut mid-entry: context.changed naming it, not docker's \"unexpected EOF\"", async () => {
    const root = fixture(8);
    const context = new TamperAfterFirstChunk({ root });
    context.tamper = () => truncateSync(join(root, "a.bin"), 3 << 20);
    await context.files();
    const ref = `${uniqueRepo("partial")}:t`;
    const builder = await newBuilder("docker", { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, [], {});
    const err = await settle(builder.build(ref, context, defaultBuildOptions({ network: "none" })));
    expectChanged(err, join(root, "a.bin"), /it shrank from 8388608 bytes/);
    expect(await imageExists(ref)).toBe(false);
  }, E2E_TIMEOUT);

  test("a same-size rewrite after the checksum pass fails the build and tags no image", async () => {
    const root = fixture(1);
    const context = new BuildContext({ root });
    await context.files();
    writeFileSync(join(root, "b.txt"), "9876543210");
    const ref = `${uniqueRepo("partial")}:t`;
    const builder = await newBuilder("docker", { binary: DOCKER_CLI, host: DOCKER_HOST, builder: "buildkit" }, [], {});
    const err = await settle(builder.build(ref, context, defaultBuildOptions({ network: "none" })));
    expectChanged(err, join(root, "b.txt"), /rewritten or replaced/);
    expect(await imageExists(ref)).toBe(false);
  }, E2E_TIMEOUT);
});
