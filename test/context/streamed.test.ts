/**
 * The one-shot archive write (`oneShot`, _streamed.ts: walked while written) against the
 * snapshot path (walk everything, then write): the same bytes for many trees, the same
 * warnings, the same errors, and nothing under the archive's name when it fails.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildContext, type BuildContextOptions } from "../../src/context/build_context.ts";
import { RuntimeError } from "../../src/errors.ts";
import { readTar } from "./_tar_reader.ts";
import { dir, file, hardlink, link, makeTree, tempDir, type Node } from "./_tree.ts";

const work = tempDir("streamed");
chmodSync(work, 0o755);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const long = `${"l".repeat(120)}/${"ñ".repeat(60)}.txt`; // a PAX path
const BASE: Record<string, Node> = {
  "Dockerfile": "FROM scratch\nCOPY . /\n",
  "src/main.ts": "console.log(1)\n",
  "src/util/deep/er/x.ts": "export {}\n",
  "src/util/deep/er/y.keep": "y",
  "bin/run": file("#!/bin/sh\n", 0o755),
  "empty/": dir(),
  "empty2/inner/": dir(0o700),
  "ln": link("src/main.ts"),
  "ln-long": link(`${"t".repeat(150)}/ü`),
  "h1": "same",
  "h2": hardlink("h1"),
  "src/h3": hardlink("h1"),
  "a b/ü😀.txt": "u",
  "a-b": "dash sorts after a/ and a b",
  "a/x": "x",
  "build/Dockerfile": "FROM scratch\n",
  "build/keep": "k",
  "build/drop.tmp": "d",
  "tmp.tmp": "t",
  [long]: "long",
};

/** [name, ignore file text (undefined: none), context options]. */
const CASES: [string, string | undefined, Partial<BuildContextOptions>][] = [
  ["no ignore file", undefined, {}],
  ["plain rules", "*.tmp\nbin\n", {}],
  ["re-include below an excluded dir", "src\n!src/util/deep/er/y.keep\n", {}],
  ["wildcard exception (excluded dirs entered)", "src\nbuild\n!**/*.keep\n", {}],
  ["everything excluded: Dockerfile and .dockerignore still sent", "*\n", {}],
  ["excluded Dockerfile and ignore file", "Dockerfile\n.dockerignore\n", {}],
  ["forced Dockerfile in a skipped dir", "build\n", { dockerfile: "build/Dockerfile" }],
  ["forced Dockerfile in an entered dir", "build\n!build/keep\n", { dockerfile: "build/Dockerfile" }],
  ["forced Dockerfile in a dir entered for a wildcard", "build\n!**/*.keep\n", { dockerfile: "build/Dockerfile" }],
  ["forced Dockerfile deep in an excluded tree", "src\n", { dockerfile: "src/util/deep/er/x.ts" }],
  ["forced path that does not exist, its dir excluded", "src\n", { dockerfile: "src/util/nope/Dockerfile" }],
  ["forced path below a file", "src\n", { dockerfile: "src/main.ts/Dockerfile" }],
  ["forced path that is a directory", "empty2\n", { dockerfile: "empty2/inner" }],
  ["legacy: excluded entered dirs sent", "src\n!src/util/deep/er/y.keep\n", { ignoreDialect: "legacy" }],
  ["legacy: forced Dockerfile in an excluded dir", "build\n!build/keep\n", { ignoreDialect: "legacy", dockerfile: "build/Dockerfile" }],
  ["long names excluded but for one", `${"l".repeat(120)}\n!${long}\n`, {}],
];

async function bothWays(root: string, options: Partial<BuildContextOptions>, Context: typeof BuildContext = BuildContext): Promise<{ snapshot: Uint8Array; streamed: Uint8Array; warnings: [string[], string[]] }> {
  const out = join(work, "out");
  mkdirSync(out, { recursive: true });
  const warnings: [string[], string[]] = [[], []];
  await new Context({ root, ...options, onWarning: (m) => warnings[0].push(m) }).writeArchive(join(out, "snapshot.tar"));
  await new Context({ root, ...options, onWarning: (m) => warnings[1].push(m) }).writeArchive(join(out, "streamed.tar"), { oneShot: true });
  return { snapshot: readFileSync(join(out, "snapshot.tar")), streamed: readFileSync(join(out, "streamed.tar")), warnings };
}

let n = 0;
describe("the one-shot write sends the snapshot path's bytes", () => {
  test.each(CASES)("%s", async (_, ignore, options) => {
    const tree: Record<string, Node> = { ...BASE };
    if (ignore !== undefined) tree[".dockerignore"] = ignore;
    const root = makeTree(join(work, `case${n++}`), tree);
    const { snapshot, streamed, warnings } = await bothWays(root, options);
    expect(streamed.length).toBeGreaterThan(1024);
    expect(Buffer.compare(streamed, snapshot)).toBe(0);
    expect(warnings[1]).toEqual(warnings[0]);
  });

  test("an ignore file elsewhere in the tree, excluded by its own rules", async () => {
    const root = makeTree(join(work, `case${n++}`), { ...BASE, "conf/ctx.ignore": "conf\nsrc\n" });
    const { snapshot, streamed } = await bothWays(root, { ignoreFile: join(root, "conf/ctx.ignore") });
    expect(Buffer.compare(streamed, snapshot)).toBe(0);
  });

  test("a subclass's always-included paths: below a symlink, below a file, in skipped and entered dirs, missing", async () => {
    class Forcing extends BuildContext {
      protected override alwaysIncluded(): string[] {
        return [...super.alwaysIncluded(), "ln/Dockerfile", "src/main.ts/x", "build/keep", "src/util/deep/er/y.keep", "src/nope/x", "./a//x", "../out", "/abs"];
      }
    }
    for (const ignore of ["ln\nsrc\nbuild\na\n", "*\n!src/util\n", "**\n!**/*.keep\n"]) {
      const root = makeTree(join(work, `case${n++}`), { ...BASE, ".dockerignore": ignore });
      for (const ignoreDialect of ["buildkit", "legacy"] as const) {
        const { snapshot, streamed } = await bothWays(root, { ignoreDialect }, Forcing);
        expect(Buffer.compare(streamed, snapshot)).toBe(0);
      }
    }
  });

  test("a Dockerfile reached through a symlink inside the root is sent at its real path", async () => {
    const root = makeTree(join(work, `case${n++}`), { ...BASE, "s": link("build"), ".dockerignore": "build\n" });
    const { snapshot, streamed } = await bothWays(root, { dockerfile: "s/Dockerfile" });
    expect(Buffer.compare(streamed, snapshot)).toBe(0);
  });

  test("an empty context, and one whose first entry needs PAX (the ./ entry first)", async () => {
    const empty = makeTree(join(work, `case${n++}`), {});
    const a = await bothWays(empty, { ignoreFile: null });
    expect(Buffer.compare(a.streamed, a.snapshot)).toBe(0);
    const pax = makeTree(join(work, `case${n++}`), { [`${"ü".repeat(80)}`]: "x" });
    const b = await bothWays(pax, { ignoreFile: null });
    expect(Buffer.compare(b.streamed, b.snapshot)).toBe(0);
  });

  test("FIFOs and sockets: skipped with the same warnings", async () => {
    const root = makeTree(join(work, `case${n++}`), { "f.txt": "f", ".dockerignore": "ignored-pipe\n" });
    expect(Bun.spawnSync(["mkfifo", join(root, "pipe"), join(root, "ignored-pipe")]).exitCode).toBe(0);
    const server = Bun.listen({ unix: join(root, "sock"), socket: { data() {} } });
    try {
      const { snapshot, streamed, warnings } = await bothWays(root, {});
      expect(Buffer.compare(streamed, snapshot)).toBe(0);
      expect(warnings[1]).toEqual(warnings[0]);
      expect(warnings[0]).toHaveLength(2);
    } finally {
      server.stop(true);
    }
  });

  test("three windows: 12,000 files, hard links to files of earlier windows, re-includes", async () => {
    const tree: Record<string, Node> = { ".dockerignore": "d1\n!d1/**/f7*\n*.skip\n" };
    for (let d = 0; d < 8; d++) for (let s = 0; s < 15; s++) for (let f = 0; f < 100; f++) tree[`d${d}/s${s}/f${f}${f % 13 === 0 ? ".skip" : ""}`] = `${d}${s}${f}\n`;
    for (let i = 0; i < 40; i++) tree[`z/h${i}`] = hardlink(`d${i % 6}/s${i % 15}/f${(i % 12) + 1}`);
    const root = makeTree(join(work, `case${n++}`), tree);
    const { snapshot, streamed } = await bothWays(root, {});
    const items = readTar(streamed);
    expect(items.length).toBeGreaterThan(2 * 4096); // three windows
    expect(items.filter((e) => e.type === "1").length).toBeGreaterThanOrEqual(33); // z/ links to files windows before (d1's are excluded)
    expect(Buffer.compare(streamed, snapshot)).toBe(0);
  });

  test("gzip, a file descriptor and stream() give the same bytes one-shot", async () => {
    const root = makeTree(join(work, `case${n++}`), { ...BASE, ".dockerignore": "build\n!build/keep\n" });
    const bytes = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());
    const ctx = () => new BuildContext({ root });
    expect(Buffer.compare(await bytes(ctx().stream({ oneShot: true })), await bytes(ctx().stream()))).toBe(0);
    expect(Buffer.compare(await bytes(ctx().stream({ oneShot: true, gzip: true })), await bytes(ctx().stream({ gzip: true })))).toBe(0);
    const out = join(work, `fd${n++}.tar`);
    const fd = (await import("node:fs")).openSync(out, "w");
    await ctx().writeArchive(fd, { oneShot: true });
    (await import("node:fs")).closeSync(fd);
    expect(Buffer.compare(readFileSync(out), await bytes(ctx().stream()))).toBe(0);
  });

  test("no snapshot is kept: a later call walks again; a snapshot taken before is what a one-shot write sends", async () => {
    const root = makeTree(join(work, `case${n++}`), { a: "a" });
    const ctx = new BuildContext({ root, ignoreFile: null });
    await ctx.writeArchive(join(work, "once.tar"), { oneShot: true });
    writeFileSync(join(root, "b"), "b");
    expect((await ctx.files()).map((f) => f.path)).toEqual(["a", "b"]); // walked again: the write pinned nothing
    writeFileSync(join(root, "c"), "c");
    await ctx.writeArchive(join(work, "pinned.tar"), { oneShot: true });
    expect(readFileSync(join(work, "pinned.tar")).includes("c\0")).toBe(false); // the pinned snapshot, without c
  });

  test("extras or a finalizeEntries hook take the snapshot path (same bytes as without oneShot)", async () => {
    const root = makeTree(join(work, `case${n++}`), { ...BASE });
    class Dropping extends BuildContext {
      protected override finalizeEntries(entries: import("../../src/context/build_context.ts").ContextEntry[]) {
        return entries.filter((e) => e.path !== "h1");
      }
    }
    for (const make of [() => new BuildContext({ root }).addContent("x", "zz/extra"), () => new Dropping({ root })]) {
      await make().writeArchive(join(work, "a.tar"));
      await make().writeArchive(join(work, "b.tar"), { oneShot: true });
      expect(Buffer.compare(readFileSync(join(work, "a.tar")), readFileSync(join(work, "b.tar")))).toBe(0);
    }
  });
});

describe("errors while walking and writing", () => {
  test("a file that vanishes after the walk saw it: the same error as the snapshot path", async () => {
    const errors: string[] = [];
    for (const oneShot of [false, true]) {
      const root = makeTree(join(work, `case${n++}`), { "a.bin": new Uint8Array(3 << 20).fill(7), "z/b.txt": "b" });
      const reader = new BuildContext({ root }).stream({ oneShot }).getReader();
      await reader.read();
      rmSync(join(root, "z"), { recursive: true });
      const err = await (async () => {
        for (;;) if ((await reader.read()).done) return undefined;
      })().catch((e) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      errors.push((err as Error).message.replace(root, "ROOT"));
    }
    expect(errors[1]).toBe(errors[0]!);
    expect(errors[0]).toMatch(/File "ROOT\/z\/b\.txt" vanished while the build context was being sent/);
  });

  test("a directory removed before the walk reached it: absent from a one-shot archive (there was no snapshot to differ from), an error for the snapshot path", async () => {
    const tree: Record<string, Node> = { "z/b.txt": "b" };
    for (let i = 0; i < 5000; i++) tree[`a/f${i}`] = "x"; // z is read two windows later
    const results: string[] = [];
    for (const oneShot of [false, true]) {
      const root = makeTree(join(work, `case${n++}`), tree);
      const reader = new BuildContext({ root }).stream({ oneShot }).getReader();
      const chunks = [(await reader.read()).value!];
      rmSync(join(root, "z"), { recursive: true });
      const err = await (async () => {
        for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
      })().catch((e) => e);
      results.push(err ? (err as Error).message.replace(root, "ROOT") : readTar(Buffer.concat(chunks)).at(-1)!.name);
    }
    expect(results).toEqual(['File "ROOT/z/b.txt" vanished while the build context was being sent', "a/f999"]);
  });

  test("a bad name fails the same way, and no archive or temp file is left", async () => {
    const root = makeTree(join(work, `case${n++}`), { "a.bin": new Uint8Array(1 << 20), ok: "ok" });
    writeFileSync(Buffer.concat([Buffer.from(`${root}/caf`), Buffer.from([0xe9])]), "x"); // "café" in Latin-1
    const out = join(work, `bad${n++}`);
    mkdirSync(out);
    const snap = await new BuildContext({ root }).writeArchive(join(out, "ctx.tar")).catch((e) => e);
    const once = await new BuildContext({ root }).writeArchive(join(out, "ctx.tar"), { oneShot: true }).catch((e) => e);
    expect(once).toBeInstanceOf(RuntimeError);
    expect((once as Error).message).toBe((snap as Error).message);
    expect(readdirSync(out)).toEqual([]);
  });

  // Tests run as root, for whom mode 000 does not stop reads: run the writer as "nobody".
  test("an unreadable directory and an unreadable file mid-walk: the same messages, nothing under the name", () => {
    const root = makeTree(join(work, `case${n++}`), { "a/ok.txt": "ok", "b/secret/x": "s", "c/secret.txt": "s" });
    for (const d of ["", "a", "b", "c"]) chmodSync(join(root, d), 0o755);
    chmodSync(join(root, "b/secret"), 0o700);
    const out = join(work, `nobody${n++}`);
    mkdirSync(out);
    chmodSync(out, 0o777);
    const script = `import { BuildContext } from ${JSON.stringify(join(import.meta.dir, "../../src/context/build_context.ts"))};
for (const oneShot of [false, true]) {
  try { await new BuildContext({ root: process.argv[2] }).writeArchive(process.argv[3], { oneShot }); console.log("no error"); }
  catch (e) { console.log(e.constructor.name + ": " + e.message); }
}`;
    writeFileSync(join(work, "as-nobody.ts"), script);
    chmodSync(join(work, "as-nobody.ts"), 0o644);
    const run = () =>
      Bun.spawnSync(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, join(work, "as-nobody.ts"), root, join(out, "ctx.tar")], {
        stderr: "pipe",
        env: { PATH: process.env.PATH, HOME: work, TMPDIR: process.env.TMPDIR, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" },
      });
    let p = run();
    expect(p.stderr.toString()).toBe("");
    const dirMessage = `RuntimeError: Cannot read directory "${join(root, "b/secret")}": EACCES: permission denied`;
    expect(p.stdout.toString().trim().split("\n")).toEqual([dirMessage, dirMessage]);
    expect(readdirSync(out)).toEqual([]);
    chmodSync(join(root, "b/secret"), 0o755);
    chmodSync(join(root, "c/secret.txt"), 0o600);
    p = run();
    const fileMessage = `RuntimeError: Cannot read "${join(root, "c/secret.txt")}": EACCES: permission denied`;
    expect(p.stdout.toString().trim().split("\n")).toEqual([fileMessage, fileMessage]);
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(out, "ctx.tar"))).toBe(false);
  });
});
