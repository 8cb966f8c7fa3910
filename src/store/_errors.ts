/**
 * What went wrong with imgb's store, in words a user can act on. SQLite reports by result code
 * (`SQLITE_READONLY`, `SQLITE_BUSY`, …) and the file system by errno; both become one
 * RuntimeError naming the store file, what imgb was doing, and the way out. Anything else is
 * returned unchanged: it is not a store condition.
 */
import { RuntimeError } from "../errors.ts";

const MOVE_IMGB_HOME = "point IMGB_HOME at a writable directory, e.g. IMGB_HOME=/tmp/imgb";

export function storeError(e: unknown, path: string, doing: string): unknown {
  if (!(e instanceof Error) || e instanceof RuntimeError) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code !== "string") return e;
  const kind = code.startsWith("SQLITE_") ? code.replace(/^SQLITE_/, "").split("_")[0] : code;
  switch (kind) {
    case "READONLY":
    case "EROFS":
    case "EACCES":
    case "EPERM":
      return new RuntimeError("store.read-only", `imgb's store '${path}' is read-only: cannot ${doing}`, { hint: MOVE_IMGB_HOME, cause: e });
    case "BUSY":
    case "LOCKED":
      return new RuntimeError("store.busy", `imgb's store '${path}' is locked by another process: cannot ${doing}`, {
        hint: "wait for the other imgb command to finish and retry",
        cause: e,
      });
    case "CORRUPT":
    case "NOTADB":
      return new RuntimeError("store.corrupt", `imgb's store '${path}' is damaged (${e.message}): cannot ${doing}`, {
        hint: `move it aside (mv '${path}' '${path}.broken'); imgb starts a new one, and custom flavors must be registered again`,
        cause: e,
      });
    case "FULL":
    case "ENOSPC":
      return new RuntimeError("store.full", `No space left for imgb's store '${path}': cannot ${doing}`, { hint: `free some space, or ${MOVE_IMGB_HOME}`, cause: e });
    case "CANTOPEN":
    case "IOERR":
    case "ENOENT":
    case "ENOTDIR":
      return new RuntimeError("store.open", `Cannot open imgb's store '${path}' (${e.message}): cannot ${doing}`, { hint: MOVE_IMGB_HOME, cause: e });
    default:
      return code.startsWith("SQLITE_") ? new RuntimeError("store.failed", `imgb's store '${path}' failed (${e.message}): cannot ${doing}`, { cause: e }) : e;
  }
}
