/** Build file trees for tests from plain objects: `{ "a/b.txt": "text", "d/": dir(), "l": link("a") }`. */
import { chmodSync, linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export type Node = string | Uint8Array | { dir: true; mode?: number } | { link: string } | { hardlink: string } | { file: string | Uint8Array; mode: number };

export const dir = (mode?: number): Node => (mode === undefined ? { dir: true } : { dir: true, mode });
export const link = (target: string): Node => ({ link: target });
export const hardlink = (to: string): Node => ({ hardlink: to });
export const file = (content: string | Uint8Array, mode: number): Node => ({ file: content, mode });

export function makeTree(root: string, tree: Record<string, Node>): string {
  mkdirSync(root, { recursive: true });
  const dirModes: [string, number][] = [];
  for (const [path, node] of Object.entries(tree)) {
    const abs = join(root, path);
    mkdirSync(dirname(abs), { recursive: true });
    if (typeof node === "string" || node instanceof Uint8Array) writeFileSync(abs, node);
    else if ("dir" in node) {
      mkdirSync(abs, { recursive: true });
      if (node.mode !== undefined) dirModes.push([abs, node.mode]);
    } else if ("link" in node) symlinkSync(node.link, abs);
    else if ("hardlink" in node) linkSync(join(root, node.hardlink), abs);
    else {
      writeFileSync(abs, node.file);
      chmodSync(abs, node.mode);
    }
  }
  for (const [abs, mode] of dirModes) chmodSync(abs, mode);
  return root;
}

/** A fresh directory under the OS temp dir (tests remove what they create). */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `imgb-${prefix}-`));
}
