/**
 * Same tree -> same bytes: two copies made in a different order, with different mtimes,
 * owners and inodes, give byte-identical tar and tar.gz streams and equal checksums; any change
 * of content, mode, path or link target changes the checksum.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, chownSync, lchownSync, lutimesSync, mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BuildContext } from "../../src/context/build_context.ts";
import { dir, file, hardlink, link, makeTree, tempDir, type Node } from "./_tree.ts";

const work = tempDir("determinism");
afterAll(() => rmSync(work, { recursive: true, force: true }));

const TREE: Record<string, Node> = {
  "Dockerfile": "FROM scratch\nCOPY . /\n",
  ".dockerignore": "*.tmp\n",
  "src/main.ts": "console.log(1)\n",
  "src/util/x.ts": "export {}\n",
  "bin/run": file("#!/bin/sh\n", 0o755),
  "data/big.bin": new Uint8Array(2_500_000).map((_, i) => i % 256),
  "empty/": dir(),
  "ln": link("src/main.ts"),
  "hard": hardlink("src/main.ts"),
  "ignored.tmp": "scratch",
  "ünï.txt": "u",
};

const bytesOf = async (s: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(s).arrayBuffer());
const sha = (b: Uint8Array) => new Bun.CryptoHasher("sha256").update(b).digest("hex");

function copyA(): string {
  return makeTree(join(work, "a"), TREE);
}

/** The same tree, created in reverse order, other times and owners. */
function copyB(): string {
  const root = join(work, "b");
  const entries = Object.entries(TREE).reverse();
  const firsts = entries.filter(([, n]) => !(typeof n === "object" && "hardlink" in n));
  makeTree(root, Object.fromEntries(firsts));
  makeTree(root, Object.fromEntries(entries.filter(([, n]) => typeof n === "object" && "hardlink" in n)));
  for (const [p, n] of entries) {
    const abs = join(root, p);
    if (typeof n === "object" && "link" in n) {
      lchownSync(abs, 1234, 5678);
      lutimesSync(abs, 1e9, 1e9);
    } else {
      chownSync(abs, 1000, 1000);
      utimesSync(abs, 1_700_000_000 + p.length, 1_600_000_000);
    }
  }
  return root;
}

describe("determinism", () => {
  const a = copyA();
  const b = copyB();

  test("byte-identical tar, tar.gz and checksums", async () => {
    const [ta, tb] = [await bytesOf(new BuildContext({ root: a }).stream()), await bytesOf(new BuildContext({ root: b }).stream())];
    expect(ta.length).toBeGreaterThan(2_500_000);
    expect(sha(ta)).toBe(sha(tb));
    const [ga, gb] = [await bytesOf(new BuildContext({ root: a }).stream({ gzip: true })), await bytesOf(new BuildContext({ root: b }).stream({ gzip: true }))];
    expect(sha(ga)).toBe(sha(gb));
    // gzip header: magic, deflate, no flags (no name), mtime 0, OS byte fixed
    expect([...ga.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    expect(new Uint8Array(Bun.gunzipSync(ga))).toEqual(ta);
    expect(await new BuildContext({ root: a }).checksum()).toBe(await new BuildContext({ root: b }).checksum());
    expect(await new BuildContext({ root: a }).checksum()).toBe(`sha256:${sha(ta)}`);
  });

  test("files() lists the archive's entries in archive order", async () => {
    const files = await new BuildContext({ root: a }).files();
    const listed = Bun.spawnSync(["tar", "-tf", "-"], { stdin: await bytesOf(new BuildContext({ root: a }).stream()) }).stdout.toString();
    expect(files.map((f) => (f.type === "dir" ? `${f.path}/` : f.path)).join("\n") + "\n").toBe(listed);
  });

  test("SOURCE_DATE_EPOCH sets every mtime (option or environment)", async () => {
    const base = await new BuildContext({ root: a }).checksum();
    const withOption = await new BuildContext({ root: a, sourceDateEpoch: 1_700_000_000 }).checksum();
    const saved = process.env.SOURCE_DATE_EPOCH;
    process.env.SOURCE_DATE_EPOCH = "1700000000";
    try {
      expect(await new BuildContext({ root: a }).checksum()).toBe(withOption);
      process.env.SOURCE_DATE_EPOCH = "yesterday";
      expect(() => new BuildContext({ root: a })).toThrow(/Invalid SOURCE_DATE_EPOCH "yesterday"/);
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
    expect(withOption).not.toBe(base);
  });

  test("any change of content, mode, path or link changes the checksum", async () => {
    const sums = new Set<string>();
    const mutations: [string, (root: string) => void][] = [
      ["none", () => {}],
      ["content, same size", (r) => writeFileSync(join(r, "src/main.ts"), "console.log(2)\n")],
      ["one byte appended", (r) => appendFileSync(join(r, "src/util/x.ts"), " ")],
      ["mode", (r) => chmodSync(join(r, "bin/run"), 0o744)],
      ["directory mode", (r) => chmodSync(join(r, "empty"), 0o700)],
      ["rename", (r) => renameSync(join(r, "src/util/x.ts"), join(r, "src/util/y.ts"))],
      ["symlink target", (r) => (unlinkSync(join(r, "ln")), symlinkSync("src/util/x.ts", join(r, "ln")))],
      ["hard link becomes a copy", (r) => (unlinkSync(join(r, "hard")), writeFileSync(join(r, "hard"), "console.log(1)\n"))],
      ["new empty directory", (r) => mkdirSync(join(r, "empty/sub"))],
      ["ignore rule", (r) => writeFileSync(join(r, ".dockerignore"), "*.tmp\nempty\n")],
      ["previously ignored file now included", (r) => writeFileSync(join(r, ".dockerignore"), "*.tm\n")],
    ];
    for (const [name, mutate] of mutations) {
      const root = makeTree(join(work, `m-${name.replaceAll(" ", "-")}`), TREE);
      mutate(root);
      const sum = await new BuildContext({ root }).checksum();
      expect({ name, seen: sums.has(sum) }).toEqual({ name, seen: false });
      sums.add(sum);
    }
    // "none" equals the unmodified copy: mutations are the only difference
    expect(sums.has(await new BuildContext({ root: a }).checksum())).toBe(true);
  });
});
