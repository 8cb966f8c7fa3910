/**
 * Proof against Docker itself: for hand-written tricky cases and fixed-seed random ones, build
 * a directory context with the real daemon (BuildKit, `FROM scratch` + `COPY . /`, exported
 * with `-o type=tar`) and compare what landed in the image with `BuildContext.files()`.
 *
 * The daemon here is Docker 20.10, so the comparison uses the "legacy" ignore dialect (the
 * engine's own client-side walk of that version). The "buildkit" dialect of current Docker
 * differs in documented places (see ignore.test.ts); the count of cases where it would give
 * another answer is printed for information.
 *
 * BuildKit sends .dockerignore (and the Dockerfile) outside the context, so an ignored
 * .dockerignore is absent from the image while BuildContext keeps it for the stdin tar; the
 * expected list drops it in that case. The Dockerfile lives outside the case directory.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildContext } from "../../src/context/build_context.ts";
import { IgnoreMatcher } from "../../src/context/ignore.ts";
import { DOCKER_CLI, DOCKER_HOST, requireEngine } from "../helpers/testenv.ts";
import { readTar } from "./_tar_reader.ts";
import { dir, hardlink, link, makeTree, tempDir, type Node } from "./_tree.ts";

const dockerReady = await requireEngine("docker");

const BASE_TREE: Record<string, Node> = {
  "a/b/c.txt": "c",
  "a/b/d.md": "d",
  "a/e.txt": "e",
  "a/.hidden": "h",
  "b/keep/x.txt": "x",
  "b/drop/y.txt": "y",
  "b/z.log": "z",
  "docs/README.md": "r",
  "docs/api/v1.md": "v1",
  "node_modules/p/index.js": "i",
  "node_modules/p/README.md": "r",
  "sp ace.txt": "s",
  "ünï/cödé.txt": "u",
  "x+y/z": "xy",
  xxy: "xxy",
  "q[1].txt": "q",
  "star*.txt": "star",
  "a.b/c": "ab",
  axb: "axb",
  "empty/": dir(),
  "deep/1/2/3/4/f": "f",
  "deep/1/x/2/g": "g",
  link: link("a/b"),
  dangling: link("nowhere"),
  abs: link("/etc/passwd"),
  hl: hardlink("a/e.txt"),
  "build.log": "b",
  "Build.LOG": "B",
  ".git/config": "g",
  "-dash": "-",
  "exec.sh": { file: "#!/bin/sh\n", mode: 0o755 },
  "ro/": dir(0o555),
};

/** [ignore file text, tree override] */
const HAND_CASES: string[] = [
  "",
  "*.log",
  "**/*.md",
  "a\n!a/b/c.txt",
  "a/**",
  "a/**\n!a/b",
  "docs/\n!docs/README.md",
  "*\n!a",
  "*\n!a/b",
  "/a/b/../e.txt",
  "./docs",
  "# comment\n #notcomment\n\n   *.txt   \n",
  "\ufeff*.md",
  "**",
  "*/*.txt",
  "?.txt\n????.log",
  "[ab]",
  "[^a]*",
  "q\\[1\\].txt",
  "star\\*.txt",
  "node_modules\n!node_modules/p/README.md",
  "**/keep",
  "b\n!b/keep/**",
  "b\n!b/keep",
  "a\n!**/c.txt",
  "ünï",
  "ünï/*.txt",
  "sp ace.txt",
  "Build.LOG",
  "a.b",
  "x+y",
  "x+y\n!x+y/z",
  "xx+y",
  "**xy",
  "**y/z",
  "deep/*/2",
  "deep/**/f",
  "deep/**/2",
  ".*",
  "!a",
  "*\n!*.txt",
  "*.log\n!build.log\nbuild.log",
  "*.log\nbuild.log\n!build.log",
  "a/b/c.txt\n!a",
  "-dash",
  "docs/api\n!docs",
  "link\ndangling",
  "a/b",
  "**/*\n!**/*.md",
  "*\n!.dockerignore",
  ".dockerignore",
  "empty",
  "ro",
  "hl",
  "a/e.txt",
  "a/*\n!a/b/d.md",
  "*/b\n!a/b/c.txt",
  "\t  a/b  \r\n!  a/b/d.md\r\n",
  "[a-c]*\n![b]",
  "a?b",
  "*[^.]txt",
  "deep/1\n!deep/1/x\ndeep/1/x/2",
  "[",
  "a[",
  "a\\",
  "!",
  "[]a]",
  "[a-]",
];

/** Mulberry32: a tiny deterministic PRNG so the random cases are the same on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEGMENTS = ["a", "b", "c", "ab", "a.b", "d-1", "é", "_x", "foo", "foo.md", "bar.txt", "baz.log", "α", "x+y", "B"];

function randomCase(rand: () => number): { tree: Record<string, Node>; ignore: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const tree: Record<string, Node> = {};
  const paths: string[] = [];
  const n = 5 + Math.floor(rand() * 15);
  for (let i = 0; i < n; i++) {
    const depth = 1 + Math.floor(rand() * 4);
    const segs = Array.from({ length: depth }, () => pick(SEGMENTS));
    const p = segs.join("/");
    // A path that is a prefix of another one must be a directory: keep files at leaves only.
    if (paths.some((q) => q.startsWith(`${p}/`) || p.startsWith(`${q}/`) || q === p)) continue;
    paths.push(p);
    const r = rand();
    tree[p] = r < 0.1 ? dir() : r < 0.15 ? link(pick(SEGMENTS)) : `content of ${p}`;
  }
  const lines: string[] = [];
  const nLines = 1 + Math.floor(rand() * 5);
  for (let i = 0; i < nLines; i++) {
    const base = pick(paths).split("/");
    let segs = base.slice(0, 1 + Math.floor(rand() * base.length));
    segs = segs.map((s) => (rand() < 0.2 ? "*" : rand() < 0.1 ? s.replace(/^./u, "?") : rand() < 0.05 ? s.replace(/^(.)/u, "[$1]") : s));
    let p = segs.join("/");
    if (rand() < 0.15) p = `**/${p}`;
    if (rand() < 0.1) p = `${p}/**`;
    if (rand() < 0.1) p = pick(["*.md", "*.txt", "*.log", "**/*.md", "*/*"]);
    if (rand() < 0.1) p = `/${p}`;
    if (rand() < 0.1) p = `${p}/`;
    if (rand() < 0.05) p = `./${p}`;
    if (rand() < 0.3) p = `!${p}`;
    lines.push(p);
  }
  return { tree, ignore: `${lines.join("\n")}\n` };
}

interface Case {
  name: string;
  tree: Record<string, Node>;
  ignore: string;
}

const cases: Case[] = [
  ...HAND_CASES.map((ignore, i) => ({ name: `hand ${i}: ${JSON.stringify(ignore)}`, tree: BASE_TREE, ignore })),
  ...(() => {
    const rand = prng(20261127);
    return Array.from({ length: 160 }, (_, i) => ({ name: `random ${i}`, ...randomCase(rand) }));
  })(),
];

type Listing = { ok: true; entries: string[] } | { ok: false; error: string };

const describeEntry = (name: string, type: string, mode: number, link: string) =>
  `${name}${type === "dir" || type === "5" ? "/" : ""} ${type === "symlink" || type === "2" ? `-> ${link}` : type === "hardlink" || type === "1" ? `=> ${link}` : (mode & 0o7777).toString(8)}`;

async function dockerListing(ctx: string, dockerfile: string): Promise<Listing> {
  const p = Bun.spawn([DOCKER_CLI, "-H", DOCKER_HOST, "build", "-q", "--network=none", "-f", dockerfile, "-o", "type=tar,dest=-", ctx], {
    env: { ...process.env, DOCKER_BUILDKIT: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).bytes(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) return { ok: false, error: err.trim().split("\n").slice(-2).join(" ") };
  return { ok: true, entries: readTar(out).map((e) => describeEntry(e.name.replace(/\/$/, ""), e.type, e.mode, e.linkname)) };
}

async function imgbListing(ctx: string, dialect: "legacy" | "buildkit"): Promise<Listing> {
  try {
    const files = await new BuildContext({ root: ctx, ignoreDialect: dialect, sourceDateEpoch: 0 }).files();
    const ignored = IgnoreMatcher.parse(await Bun.file(join(ctx, ".dockerignore")).text(), undefined, dialect).matches(".dockerignore");
    return { ok: true, entries: files.filter((f) => !(ignored && f.path === ".dockerignore")).map((f) => describeEntry(f.path, f.type, f.mode, f.linkTarget ?? "")) };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

describe.skipIf(!dockerReady)(".dockerignore against Docker 20.10 (BuildKit)", () => {
  let work = "";
  let dockerfile = "";
  const results = new Map<string, { docker: Listing; legacy: Listing; buildkit: Listing }>();

  beforeAll(async () => {
    work = tempDir("dockerignore");
    dockerfile = join(work, "Dockerfile");
    writeFileSync(dockerfile, "FROM scratch\nCOPY . /\n");
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        const c = cases[i]!;
        const ctx = makeTree(join(work, `case${i}`), c.tree);
        writeFileSync(join(ctx, ".dockerignore"), c.ignore);
        results.set(c.name, { docker: await dockerListing(ctx, dockerfile), legacy: await imgbListing(ctx, "legacy"), buildkit: await imgbListing(ctx, "buildkit") });
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    const differ = [...results.values()].filter((r) => JSON.stringify(r.legacy) !== JSON.stringify(r.buildkit)).length;
    console.log(`dockerignore_vs_docker: ${cases.length} cases; the "buildkit" dialect answers differently in ${differ}`);
  }, 170_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test.each(cases.map((c) => [c.name]))("%s", (name) => {
    const r = results.get(name)!;
    if (!r.docker.ok) {
      expect(r.legacy.ok).toBe(false); // Docker refused the ignore file: so must we
      return;
    }
    expect(r.legacy).toEqual(r.docker);
  });
});
