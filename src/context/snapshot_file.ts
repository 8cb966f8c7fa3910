/**
 * Reading a file of a BuildContext snapshot from outside the tar writer. A flavor that builds
 * natively (oci) reads the Dockerfile, archive heads and /etc/passwd itself, and copies files
 * into its own layers; like the archive an engine gets, those bytes must be the ones the
 * checksum pass saw. Each `files()` entry with content on disk carries the `identity` the walk
 * recorded; `readSnapshotFile` (and a TarWriter given `identityFields`) check it with one fstat
 * after the read: the kernel updates ctime on every write, and a rename gives another inode, so a
 * same-size rewrite with its mtime reset shows too.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { resolve } from "node:path";
import type { FileIdentity } from "../builder/build_context.ts";
import { RuntimeError } from "../errors.ts";
import type { TarEntry } from "./tar.ts";
import { ioError } from "./walk.ts";

export type { FileIdentity } from "../builder/build_context.ts";

/**
 * The whole content of `path` (or its first `limit` bytes), failing with `context.changed` when
 * the file is not the one the snapshot recorded (vanished, replaced by a symlink, another size,
 * rewritten).
 */
export function readSnapshotFile(path: string, identity: FileIdentity, limit = Infinity): Uint8Array {
  const abs = resolve(path);
  let fd: number;
  try {
    fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw changed(abs, "vanished");
    if (code === "ELOOP") throw changed(abs, "was replaced by a symlink");
    throw ioError("read", abs, e);
  }
  try {
    const want = Math.min(identity.size, limit);
    const buf = new Uint8Array(want);
    let got = 0;
    while (got < want) {
      let n: number;
      try {
        n = readSync(fd, buf, got, want - got, got);
      } catch (e) {
        throw ioError("read", abs, e);
      }
      if (n === 0) break;
      got += n;
    }
    const st = fstatSync(fd);
    if (got < want || st.size !== identity.size) throw changed(abs, `${st.size > identity.size ? "grew" : "shrank"} from ${identity.size} bytes`);
    if (st.ino !== identity.ino || st.mtimeMs !== identity.mtimeMs || st.ctimeMs !== identity.ctimeMs) throw changed(abs, "was rewritten or replaced after it was checksummed");
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** The fields a TarWriter checks after it read an entry's source (see `TarEntry.ino`). */
export function identityFields(identity: FileIdentity): Pick<TarEntry, "ino" | "mtimeMs" | "ctimeMs"> {
  return { ino: identity.ino, mtimeMs: identity.mtimeMs, ctimeMs: identity.ctimeMs };
}

function changed(path: string, how: string): RuntimeError {
  return new RuntimeError("context.changed", `File "${path}" changed while the build context was being read: it ${how}`, {
    hint: "Stop processes writing into the build context, or ignore the file in .dockerignore",
  });
}
