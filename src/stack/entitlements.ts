/**
 * Filesystem entitlements, after `docker buildx bake --allow`: a stack file may read what lies
 * in its own directory; any other path it names (context, Dockerfile, ignore file, extra file
 * sources, the registry password file, secret files, ssh sockets and keys, custom flavor files) needs `--allow fs.read=PATH` on the
 * command line, so a stack from an untrusted branch cannot silently pull `/etc/shadow` or
 * `~/.ssh` into an image (or run a flavor file from elsewhere). Symlinks are resolved first: a
 * link inside the project that points outside is outside.
 *
 * Only the command line grants: like bake, a stack cannot allow itself anything.
 */
import { realpathSync } from "node:fs";
import { dirname, isAbsolute, resolve, sep } from "node:path";
import { InputError, UsageError } from "../errors.ts";
import { toPointer } from "./locate.ts";
import { parseNamedContext } from "./named_contexts.ts";
import type { StackFile } from "./schema.ts";
import type { Locator } from "./schema_errors.ts";

/** What the command line allows a stack to read besides its own directory. */
export interface FsAllow {
  /** `fs=*` / `fs.read=*`: anything. */
  all: boolean;
  /** Real paths (symlinks resolved) of allowed files or directory trees. */
  paths: string[];
}

export const NO_EXTRA_ACCESS: FsAllow = { all: false, paths: [] };

/** Parses `--allow` values: `fs.read=PATH`, `fs=PATH` (read and write; imgb only reads), `*` for PATH. */
export function parseAllow(values: readonly string[], cwd: string): FsAllow {
  const allow: FsAllow = { all: false, paths: [] };
  for (const value of values) {
    const eq = value.indexOf("=");
    const name = eq < 0 ? value : value.slice(0, eq);
    const path = eq < 0 ? "" : value.slice(eq + 1);
    if (name !== "fs.read" && name !== "fs") {
      throw new UsageError("cli.bad-entitlement", `Unknown entitlement '${name}' in --allow`, { hint: "imgb knows fs.read=PATH, fs=PATH and fs=* (paths a stack may read outside its directory)" });
    }
    if (path === "") throw new UsageError("cli.bad-entitlement", `Entitlement '${name}' needs a path: --allow ${name}=PATH`, { hint: `'${name}=*' allows every path` });
    if (path === "*") allow.all = true;
    else allow.paths.push(realOrResolved(resolve(cwd, path)));
  }
  return allow;
}

/**
 * One error per path the stack names outside its directory that `allow` does not cover, each
 * at the key that names it. The paths are resolved as `resolveStack` resolves them: relative to
 * the stack file, `dockerfile` relative to the context.
 */
export function checkFsEntitlements(stack: StackFile, file: string, allow: FsAllow, at: Locator): InputError[] {
  if (allow.all) return [];
  const dir = dirname(file);
  const root = realOrResolved(dir);
  const errors: InputError[] = [];
  const check = (pointer: string, key: string, path: string): boolean => {
    const real = realOrResolved(path);
    if (within(real, root) || allow.paths.some((p) => within(real, p))) return true;
    const via = real === path ? "" : ` (it resolves to '${real}')`;
    errors.push(new InputError("stack.outside-read", `'${key}' reads '${path}'${via}, outside the stack file's directory '${root}'`, {
      location: at(pointer, true),
      hint: `let this stack read it with --allow fs.read=${real}`,
    }));
    return false;
  };

  (stack.flavors ?? []).forEach((p, i) => check(toPointer(["flavors", i]), "flavors", resolve(dir, p)));
  const password = stack.container_registry?.credentials?.password_file;
  if (password !== undefined) check("/container_registry/credentials/password_file", "password_file", resolve(dir, password));

  for (const [id, spec] of Object.entries(stack.secrets ?? {})) {
    if ("file" in spec) check(toPointer(["secrets", id, "file"]), "file", resolve(dir, spec.file));
  }

  for (const [name, image] of Object.entries(stack.images)) {
    const p = (...s: string[]) => toPointer(["images", name, ...s]);
    for (const [id, spec] of Object.entries(image.secrets ?? {})) {
      if ("file" in spec) check(p("secrets", id, "file"), "file", resolve(dir, spec.file));
    }
    // `ssh: [default]` forwards the user's own agent ($SSH_AUTH_SOCK): only paths the stack names are checked.
    if (image.ssh && !Array.isArray(image.ssh)) for (const [id, path] of Object.entries(image.ssh)) check(p("ssh", id), "ssh", resolve(dir, path));
    const context = image.context === undefined ? undefined : resolve(dir, image.context);
    const contextOk = context === undefined || check(p("context"), "context", context);
    if (image.dockerfile_inline === undefined) {
      const rel = image.dockerfile ?? "Dockerfile";
      const dockerfile = isAbsolute(rel) ? rel : resolve(context ?? dir, rel);
      // The default Dockerfile of an outside context is that context's problem, reported once.
      if (image.dockerfile !== undefined || contextOk) check(image.dockerfile !== undefined ? p("dockerfile") : p(), image.dockerfile !== undefined ? "dockerfile" : "Dockerfile", dockerfile);
    }
    if (image.dockerignore !== undefined) check(p("dockerignore"), "dockerignore", resolve(dir, image.dockerignore));
    for (const [dest, spec] of Object.entries(image.extra_files ?? {})) {
      if ("source" in spec) check(p("extra_files", dest, "source"), "source", resolve(dir, spec.source));
    }
    for (const [key, text] of Object.entries(image.contexts ?? {})) {
      const c = parseNamedContext(text, dir);
      if ("type" in c && c.type === "dir") check(p("contexts", key), "contexts", c.path);
    }
  }
  return errors;
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

/** The real path; for a path that does not exist (yet), the real path of its nearest existing parent joined with the rest. */
function realOrResolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    if (parent === path) return path;
    return resolve(realOrResolved(parent), path.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
  }
}
