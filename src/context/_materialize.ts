/**
 * Write context entries as a directory tree: files copied (inline content written), symlinks
 * recreated, hard links linked to their first path, same modes, every mtime = `mtime`.
 * Directory modes and times are set last, deepest first, so a read-only directory can still be
 * filled and its mtime is not bumped by its children.
 */
import { chmodSync, copyFileSync, linkSync, lutimesSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { RuntimeError } from "../errors.ts";
import type { ContextEntry } from "./build_context.ts";
import { ioError } from "./walk.ts";

export function materialize(entries: readonly (ContextEntry & { data?: Uint8Array })[], dest: string, mtime: number): void {
  const dirs: ContextEntry[] = [];
  for (const e of entries) {
    const target = `${dest}/${e.path}`;
    try {
      switch (e.type) {
        case "dir":
          mkdirSync(target, { recursive: true });
          dirs.push(e);
          continue;
        case "file":
          if (e.source) copyFileSync(e.source, target);
          else writeFileSync(target, e.data ?? new Uint8Array());
          chmodSync(target, e.mode);
          utimesSync(target, mtime, mtime);
          continue;
        case "symlink":
          symlinkSync(e.linkTarget ?? "", target);
          lutimesSync(target, mtime, mtime);
          continue;
        case "hardlink":
          linkSync(`${dest}/${e.linkTarget}`, target);
          continue;
      }
    } catch (err) {
      if (err instanceof RuntimeError) throw err;
      throw ioError("write", target, err);
    }
  }
  for (const d of dirs.reverse()) {
    const target = `${dest}/${d.path}`;
    chmodSync(target, d.mode);
    utimesSync(target, mtime, mtime);
  }
}
