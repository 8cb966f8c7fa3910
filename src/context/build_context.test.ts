import { afterAll, describe, expect, test } from "bun:test";
import { createWriteStream, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dir, file, hardlink, link, makeTree, tempDir } from "../../test/context/_tree.ts";
import { InputError } from "../errors.ts";
import type { ResolvedImage } from "../stack/model.ts";
import type { ImageBuildContext } from "../builder/build_context.ts";
import { BuildContext, findEntry, type ContextEntry } from "./build_context.ts";
import { contextForImage, EXTRA_DOCKERFILE } from "../stack/image_context.ts";

const work = tempDir("build-context");
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const tree = (t: Parameters<typeof makeTree>[1]) => makeTree(join(work, `t${n++}`), t);
const paths = async (c: ImageBuildContext) => (await c.files()).map((f) => (f.type === "dir" ? `${f.path}/` : f.path));
const tarList = async (c: BuildContext) => Bun.spawnSync(["tar", "-tvf", "-"], { stdin: new Uint8Array(await new Response(c.stream()).arrayBuffer()) }).stdout.toString();

describe("what is sent", () => {
  test("the Dockerfile and the ignore file stay even when ignored, with their parent dirs", async () => {
    const root = tree({ "build/app.Dockerfile": "FROM x", ".dockerignore": "build\n.dockerignore\nsrc/*.tmp\n", "src/a.ts": "a", "src/b.tmp": "b" });
    expect(await paths(new BuildContext({ root, dockerfile: "build/app.Dockerfile" }))).toEqual([".dockerignore", "build/", "build/app.Dockerfile", "src/", "src/a.ts"]);
  });

  test("a Dockerfile path outside the root is simply not part of the context", async () => {
    const root = tree({ a: "a" });
    expect(await paths(new BuildContext({ root, dockerfile: "../Dockerfile" }))).toEqual(["a"]);
  });

  test("<dockerfile>.dockerignore replaces the root .dockerignore; null disables ignoring", async () => {
    const root = tree({ "app.Dockerfile": "FROM x", "app.Dockerfile.dockerignore": "b", ".dockerignore": "a", a: "a", b: "b" });
    const c = new BuildContext({ root, dockerfile: "app.Dockerfile" });
    expect(c.ignoreFilePath).toBe("app.Dockerfile.dockerignore");
    expect(await paths(c)).toEqual([".dockerignore", "a", "app.Dockerfile", "app.Dockerfile.dockerignore"]);
    expect(await paths(new BuildContext({ root, ignoreFile: null }))).toEqual([".dockerignore", "a", "app.Dockerfile", "app.Dockerfile.dockerignore", "b"]);
  });

  test("an explicit ignore file outside the root filters the root", async () => {
    const root = tree({ a: "a", b: "b" });
    writeFileSync(join(work, "outside.ignore"), "a\n");
    expect(await paths(new BuildContext({ root, ignoreFile: join(work, "outside.ignore") }))).toEqual(["b"]);
  });

  test("an excluded directory is sent only if something below it is re-included (buildkit), or whenever entered (legacy)", async () => {
    const root = tree({ "a/b/keep": "k", "a/c/x": "x", "d/e": "e", ".dockerignore": "a\nd\n!a/b/keep\n!a/c/nothing\n" });
    expect(await paths(new BuildContext({ root }))).toEqual([".dockerignore", "a/", "a/b/", "a/b/keep"]);
    expect(await paths(new BuildContext({ root, ignoreDialect: "legacy" }))).toEqual([".dockerignore", "a/", "a/b/", "a/b/keep", "a/c/"]);
  });

  test("a wildcard exception makes the walk enter every excluded directory (buildkit only)", async () => {
    const root = tree({ "a/deep/keep.md": "k", "a/x": "x", ".dockerignore": "a\n!**/*.md\n" });
    expect(await paths(new BuildContext({ root }))).toEqual([".dockerignore", "a/", "a/deep/", "a/deep/keep.md"]);
    expect(await paths(new BuildContext({ root, ignoreDialect: "legacy" }))).toEqual([".dockerignore"]);
  });

  test("fileList() makes, entry by entry, what files() returns: from the table and from a context with extras (hard-link identities too)", async () => {
    const root = tree({ "z/first": "data", "a/second": hardlink("z/first"), "m/plain": "plain" });
    for (const context of [new BuildContext({ root }), new BuildContext({ root }).addContent("v1", "VERSION")]) {
      const files = await context.files();
      const list = await context.fileList();
      expect(list.length).toBe(files.length);
      expect(Array.from({ length: list.length }, (_, i) => list.at(i))).toEqual(files);
      expect(list.at(files.length)).toBeUndefined();
      expect(files.find((f) => f.path === "z/first")).toMatchObject({ type: "hardlink", linkTarget: "a/second", identity: { size: 4 } });
      expect(findEntry(list, "m/plain")).toMatchObject({ type: "file", size: 5, identity: { size: 5 } });
      expect(findEntry(list, "nope")).toBeUndefined();
    }
  });

  test("hard links point at the first path in archive order; symlinks are never followed", async () => {
    const root = tree({ "z/first": "data", "a/second": hardlink("z/first"), "l": link("z"), "z/x": "x" });
    const files = await new BuildContext({ root }).files();
    const by = Object.fromEntries(files.map((f) => [f.path, f]));
    expect(by["a/second"]).toMatchObject({ type: "file", size: 4 });
    expect(by["z/first"]).toMatchObject({ type: "hardlink", linkTarget: "a/second", size: 0 });
    // A walked entry's source is computed, not stored (walk.ts): a hard link made from one keeps it.
    expect(by["z/first"]!.source).toBe(join(root, "z/first"));
    expect(by["z/first"]!.identity).toMatchObject({ size: 4 });
    expect(by["a/second"]!.source).toBe(join(root, "a/second"));
    expect(by.l).toMatchObject({ type: "symlink", linkTarget: "z" });
    expect(files.some((f) => f.path.startsWith("l/"))).toBe(false);
  });
});

describe("the walked tree (a sorted array until something is added)", () => {
  test("a forced Dockerfile, an ignored parent and an extra directory land in byte order with their sources", async () => {
    const root = tree({ ".dockerignore": "sub\nz*\n", "sub/deep/Dockerfile": "FROM scratch", "sub/other": "o", "a-b": "1", "a/x": "2", "z1": "3" });
    const extra = tree({ "e/f": "ef" });
    const c = new BuildContext({ root, dockerfile: "sub/deep/Dockerfile" });
    expect(await paths(c)).toEqual([".dockerignore", "a/", "a/x", "a-b", "sub/", "sub/deep/", "sub/deep/Dockerfile"]);
    c.addDirectory(extra, "a/more");
    const files = await c.files();
    expect(files.map((f) => f.path)).toEqual([".dockerignore", "a", "a/more", "a/more/e", "a/more/e/f", "a/x", "a-b", "sub", "sub/deep", "sub/deep/Dockerfile"]);
    expect(files.find((f) => f.path === "a/more/e/f")!.source).toBe(join(extra, "e/f"));
    expect(files.find((f) => f.path === "a/x")!.source).toBe(join(root, "a/x"));
    expect(await tarList(c)).toContain("a/more/e/f");
  });
});

describe("extra files", () => {
  test("override same-named context files, are never filtered, and get parent dirs", async () => {
    const root = tree({ "VERSION": "old", ".dockerignore": "gen\nVERSION\n", "conf/app.yaml": "a: 1" });
    const extra = tree({ "one.txt": "1", "tree/x": "x", "tree/sub/y": file("y", 0o700) });
    const c = new BuildContext({ root })
      .addContent("1.2.3\n", "VERSION")
      .addContent("#!/bin/sh\n", "gen/run.sh", 0o755)
      .addFile(join(extra, "one.txt"), "./conf/one.txt")
      .addDirectory(join(extra, "tree"), "vendor/tree");
    const files = await c.files();
    expect(files.map((f) => `${f.path} ${f.type} ${f.mode.toString(8)}`)).toEqual([
      ".dockerignore file 644",
      "VERSION file 644",
      "conf dir 755",
      "conf/app.yaml file 644",
      "conf/one.txt file 644",
      "gen dir 755",
      "gen/run.sh file 755",
      "vendor dir 755",
      "vendor/tree dir 755",
      "vendor/tree/sub dir 755",
      "vendor/tree/sub/y file 700",
      "vendor/tree/x file 644",
    ]);
    expect(files.find((f) => f.path === "VERSION")!.source).toBeUndefined();
    expect(await tarList(c)).toContain("1970-01-01 00:00 VERSION");
  });

  test("a file over a context directory replaces the whole subtree", async () => {
    const root = tree({ "cfg/a": "a", "cfg/b/c": "c" });
    expect(await paths(new BuildContext({ root }).addContent("x", "cfg"))).toEqual(["cfg"]);
  });

  test("a context of only extra files needs no root", async () => {
    const c = new BuildContext().addContent("FROM scratch\n", "Dockerfile");
    expect(await paths(c)).toEqual(["Dockerfile"]);
    expect(await tarList(c)).toMatch(/^-rw-r--r-- 0\/0 +13 1970-01-01 00:00 Dockerfile\n$/);
  });

  test.each([["../x"], ["/etc/passwd"], [""], ["."], ["a/../../b"], ["a/../b"], ["a\\..\\b"], ["  "]])("destination %p is rejected", (dest) => {
    expect(() => new BuildContext().addContent("x", dest)).toThrow(InputError);
  });
});

describe("subclass hook", () => {
  test("finalizeEntries can drop the ignore file (podman/buildah re-apply it)", async () => {
    class NoIgnoreFile extends BuildContext {
      protected override finalizeEntries(entries: ContextEntry[]): ContextEntry[] {
        return entries.filter((e) => e.path !== this.ignoreFilePath);
      }
    }
    const root = tree({ ".dockerignore": "b", a: "a", b: "b", h1: "same", h2: hardlink("h1") });
    expect(await paths(new NoIgnoreFile({ root }))).toEqual(["a", "h1", "h2"]);
    class DropFirstLink extends BuildContext {
      protected override finalizeEntries(entries: ContextEntry[]): ContextEntry[] {
        return entries.filter((e) => e.path !== "h1");
      }
    }
    // Hard links are resolved after the hook: h2 becomes the file, not a dangling link.
    expect((await new DropFirstLink({ root }).files()).find((f) => f.path === "h2")).toMatchObject({ type: "file", size: 4 });
  });
});

describe("sinks", () => {
  const root = tree({ "a.txt": "a", "big.bin": new Uint8Array(3 << 20).fill(1), "x/y": link("../a.txt") });
  const expected = async () => new Uint8Array(await new Response(new BuildContext({ root }).stream()).arrayBuffer());

  test("a path, a file descriptor, a WritableStream, a Node writable and a subprocess stdin get the same bytes", async () => {
    const want = await expected();
    const out = join(work, "sinks");
    mkdirSync(out);
    await new BuildContext({ root }).writeArchive(join(out, "path.tar"));
    expect(new Uint8Array(readFileSync(join(out, "path.tar")))).toEqual(want);

    const chunks: Uint8Array[] = [];
    await new BuildContext({ root }).writeArchive(new WritableStream({ write: (c) => void chunks.push(c.slice()) }));
    expect(new Uint8Array(Buffer.concat(chunks))).toEqual(want);

    const ws = createWriteStream(join(out, "node.tar"));
    await new BuildContext({ root }).writeArchive(ws);
    expect(new Uint8Array(readFileSync(join(out, "node.tar")))).toEqual(want);

    const cat = Bun.spawn(["sh", "-c", `cat > '${join(out, "stdin.tar")}'`], { stdin: "pipe" });
    await new BuildContext({ root }).writeArchive(cat.stdin);
    expect(await cat.exited).toBe(0);
    expect(new Uint8Array(readFileSync(join(out, "stdin.tar")))).toEqual(want);
  });

  test("a subprocess can read the stream directly as stdin", async () => {
    const p = Bun.spawn(["tar", "-tf", "-"], { stdin: new BuildContext({ root }).stream(), stdout: "pipe" });
    expect(await new Response(p.stdout).text()).toBe("a.txt\nbig.bin\nx/\nx/y\n");
    expect(await p.exited).toBe(0);
  });

  test("a path over an existing archive: replaced whole; on failure neither the old nor a partial archive is left, nor a temp file", async () => {
    const big = tree({ "a.bin": new Uint8Array(5 << 20).map((_, i) => i % 251), "b.txt": "b", "c.bin": new Uint8Array((2 << 20) + 7).fill(3) });
    const want = new Uint8Array(await new Response(new BuildContext({ root: big }).stream()).arrayBuffer());
    const out = join(work, "replace");
    mkdirSync(out);
    const target = join(out, "ctx.tar");
    writeFileSync(target, "old archive");
    await new BuildContext({ root: big }).writeArchive(target);
    expect(new Uint8Array(readFileSync(target))).toEqual(want);

    writeFileSync(target, "old archive");
    const ctx = new BuildContext({ root: big });
    await ctx.files(); // the snapshot; then c.bin (past the first chunks) vanishes
    rmSync(join(big, "c.bin"));
    const err = await ctx.writeArchive(target).then(() => undefined, (e: unknown) => e);
    expect((err as { code?: string }).code).toBe("context.changed");
    expect(readdirSync(out)).toEqual([]);
  });

  test("gzip to a path decompresses to the plain archive", async () => {
    const out = join(work, "ctx.tar.gz");
    await new BuildContext({ root }).writeArchive(out, { gzip: true });
    expect(new Uint8Array(Bun.gunzipSync(readFileSync(out)))).toEqual(await expected());
  });
});

describe("paths relative to the working directory (shorter kernel lookups)", () => {
  test("same bytes and absolute sources whether the context is below the cwd or not, even if the cwd changes mid-stream", async () => {
    const root = tree({ "a/b.bin": new Uint8Array(3 << 20).fill(5), "c.txt": "c" });
    const outside = new Uint8Array(await new Response(new BuildContext({ root }).stream()).arrayBuffer());
    const saved = process.cwd();
    try {
      process.chdir(join(root, ".."));
      const c = new BuildContext({ root });
      expect((await c.files()).map((f) => f.source)).toEqual([join(root, "a"), join(root, "a/b.bin"), join(root, "c.txt")]);
      const reader = c.stream().getReader();
      const parts: Uint8Array[] = [];
      let first = true;
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        parts.push(r.value);
        if (first) process.chdir("/"); // relative sources must still resolve against the old cwd
        first = false;
      }
      expect(new Uint8Array(Buffer.concat(parts))).toEqual(outside);
    } finally {
      process.chdir(saved);
    }
  });
});

describe("writeDirectory", () => {
  test("recreates files, modes, symlinks, hard links and empty dirs, with fixed mtimes", async () => {
    const root = tree({ "run.sh": file("#!/bin/sh", 0o755), "ro/": dir(0o555), "ro2/f": "f", "l": link("run.sh"), "h": hardlink("run.sh"), "e/": dir() });
    const out = join(work, "materialized");
    await new BuildContext({ root, sourceDateEpoch: 86400 }).addContent("v", "ro2/extra").writeDirectory(out);
    const st = (p: string) => lstatSync(join(out, p));
    expect((st("run.sh").mode & 0o7777).toString(8)).toBe("755");
    expect((st("ro").mode & 0o7777).toString(8)).toBe("555");
    expect(readlinkSync(join(out, "l"))).toBe("run.sh");
    expect(st("h").ino).toBe(st("run.sh").ino);
    expect(st("e").isDirectory()).toBe(true);
    expect(readFileSync(join(out, "ro2/extra"), "utf8")).toBe("v");
    expect(st("ro2").mtimeMs).toBe(86400_000);
    expect(st("run.sh").mtimeMs).toBe(86400_000);
  });
});

describe("contextForImage", () => {
  const image = (over: Partial<ResolvedImage>): ResolvedImage => ({
    name: "app", buildArgs: {}, platforms: [], labels: {}, tags: [], extraFiles: [], dependsOn: [], noCache: false, pull: false, extraFlags: [],
    cacheFrom: [], cacheTo: [], annotations: {}, secrets: [], ssh: [],
    ...over,
  });

  test("a Dockerfile inside the context is used in place", async () => {
    const root = tree({ "docker/app.Dockerfile": "FROM x", src: "s" });
    const { context, dockerfile } = contextForImage(image({ context: root, dockerfile: join(root, "docker/app.Dockerfile") }));
    expect(dockerfile).toBe("docker/app.Dockerfile");
    expect(await paths(context)).toEqual(["docker/", "docker/app.Dockerfile", "src"]);
  });

  test("a Dockerfile outside the context, and its own .dockerignore, are honoured", async () => {
    const root = tree({ a: "a", b: "b", ".dockerignore": "a" });
    const df = join(work, `outside${n++}.Dockerfile`);
    writeFileSync(df, "FROM y");
    writeFileSync(`${df}.dockerignore`, "b");
    const { context, dockerfile } = contextForImage(image({ context: root, dockerfile: df }));
    expect(dockerfile).toBe(EXTRA_DOCKERFILE);
    expect(await paths(context)).toEqual([".dockerignore", ".imgb/", ".imgb/Dockerfile", "a"]);
  });

  test("an inline Dockerfile survives an ignore file that excludes everything", async () => {
    const root = tree({ a: "a", ".dockerignore": "*\n.*" });
    const { context } = contextForImage(image({ context: root, dockerfileInline: "FROM z\n", extraFiles: [{ destination: "gen/v", content: "1", mode: 0o600 }] }));
    const files = await context.files();
    expect(files.map((f) => f.path)).toEqual([".dockerignore", ".imgb", ".imgb/Dockerfile", "gen", "gen/v"]);
    expect(files.find((f) => f.path === "gen/v")!.mode).toBe(0o600);
  });

  test("an explicit dockerignore and extra sources (file and directory)", async () => {
    const root = tree({ a: "a", b: "b", "Dockerfile": "FROM x" });
    const src = tree({ "f.txt": "f", "d/x": "x" });
    writeFileSync(join(work, "explicit.ignore"), "a\n");
    const { context } = contextForImage(
      image({
        context: root,
        dockerfile: join(root, "Dockerfile"),
        dockerignore: join(work, "explicit.ignore"),
        extraFiles: [{ destination: "in/f.txt", source: join(src, "f.txt"), mode: 0o640 }, { destination: "in/d", source: join(src, "d") }],
      }),
    );
    expect(await paths(context)).toEqual(["Dockerfile", "b", "in/", "in/d/", "in/d/x", "in/f.txt"]);
  });

  test("an extra file at the Dockerfile's place is an error", () => {
    expect(() => contextForImage(image({ dockerfileInline: "FROM x", extraFiles: [{ destination: ".imgb/Dockerfile", content: "no" }] }))).toThrow(/collides/);
  });
});

describe("snapshot", () => {
  test("the walk of files() is what stream() sends; a same-size rewrite since then fails it; refresh() walks again", async () => {
    const root = tree({ "a.txt": "aaaa", "b.txt": "bbbb" });
    const c = new BuildContext({ root });
    await c.files();
    writeFileSync(join(root, "c.txt"), "new"); // after the walk: not sent
    const read = async () => new Uint8Array(await new Response(c.stream()).arrayBuffer());
    expect(new TextDecoder().decode(await read())).not.toContain("c.txt");
    writeFileSync(join(root, "b.txt"), "BBBB");
    const err = await read().catch((e) => e);
    expect(err.code).toBe("context.changed");
    expect(err.message).toBe(`File "${join(root, "b.txt")}" changed while the build context was being sent: it was rewritten or replaced after it was checksummed`);
    c.refresh();
    const again = new TextDecoder().decode(await read());
    expect(again).toContain("c.txt");
    expect(again).toContain("BBBB");
  });
});
