import { describe, expect, test } from "bun:test";
import { InputError } from "../../src/errors.ts";
import { copyEntries, matchSources, type CopyInput } from "./copy.ts";
import type { CopyOp } from "./evaluate.ts";
import type { FileTree, FsNode } from "./tree.ts";

const file = (size = 1, mode = 0o644): FsNode => ({ type: "file", mode, size, uid: 0, gid: 0, source: "/dev/null" });
const dir = (mode = 0o755): FsNode => ({ type: "dir", mode, size: 0, uid: 0, gid: 0 });
const tree: FileTree = new Map<string, FsNode>([
  ["a.txt", file()],
  ["b.txt", file()],
  ["bin", dir()],
  ["bin/tool", file(3, 0o755)],
  ["bin/link", { type: "symlink", mode: 0o777, size: 0, uid: 0, gid: 0, linkTarget: "tool" }],
  ["src", dir(0o700)],
  ["src/deep", dir()],
  ["src/deep/x.go", file()],
]);

function op(sources: string[], dest: string, extra: Partial<CopyOp> = {}): CopyOp {
  const instruction = { keyword: "COPY", flags: {}, args: "", line: 3, text: `COPY ${sources.join(" ")} ${dest}` };
  return { instruction, add: false, sources, dest: dest.replace(/\/$/, "") || "/", dirHint: dest.endsWith("/"), ...extra };
}
const copy = (o: CopyOp, more: Partial<CopyInput> = {}) =>
  copyEntries({ op: o, tree, withParents: false, origin: "build context", location: { file: "D", line: 3, col: 1 }, ...more }).map((e) => `${e.type[0]} ${e.path} ${e.mode.toString(8)}${e.uid ? ` ${e.uid}:${e.gid}` : ""}`);

describe("COPY semantics", () => {
  test("matchSources: exact, wildcards per segment, root", () => {
    expect(matchSources(tree, "*.txt")).toEqual(["a.txt", "b.txt"]);
    expect(matchSources(tree, "/bin/t?ol")).toEqual(["bin/tool"]);
    expect(matchSources(tree, "src/*/[a-x].go")).toEqual(["src/deep/x.go"]);
    expect(matchSources(tree, ".")).toEqual([""]);
    expect(matchSources(tree, "nope")).toEqual([]);
  });

  test("a file to a path, into a directory", () => {
    expect(copy(op(["a.txt"], "/etc/conf"))).toEqual(["f etc/conf 644"]);
    expect(copy(op(["a.txt"], "/etc/"))).toEqual(["f etc/a.txt 644"]);
  });

  test("a directory copies its contents; the destination gets its mode", () => {
    expect(copy(op(["src"], "/app"))).toEqual(["d app 700", "d app/deep 755", "f app/deep/x.go 644"]);
  });

  test("wildcards, several sources, symlinks kept, --chmod and --chown", () => {
    expect(copy(op(["*.txt", "bin"], "/d/"), { owner: { uid: 5, gid: 6 } })).toEqual([
      "d d 755 5:6",
      "f d/a.txt 644 5:6",
      "f d/b.txt 644 5:6",
      "s d/link 777 5:6",
      "f d/tool 755 5:6",
    ]);
    expect(copy(op(["bin/tool"], "/t", { chmod: 0o700 }))).toEqual(["f t 700"]);
  });

  test("FROM scratch: parents are written too", () => {
    expect(copy(op(["a.txt"], "/usr/local/etc/"), { withParents: true })).toEqual(["d usr 755", "d usr/local 755", "d usr/local/etc 755", "f usr/local/etc/a.txt 644"]);
  });

  test("errors: missing source, several sources into a file", () => {
    expect(() => copy(op(["missing"], "/x"))).toThrow('"missing" not found in the build context');
    expect(() => copy(op(["*.txt"], "/x"))).toThrow("must be a directory ending in /");
    expect(() => copy(op(["missing"], "/x"))).toThrow(InputError);
  });
});
