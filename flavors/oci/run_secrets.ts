/**
 * `RUN --mount=type=secret` for one step: each secret's value goes to a private copy in the
 * build's temp dir (0700) with the mount's mode and owner (BuildKit's defaults: 0400, root),
 * bound read-only at its target inside the sandbox. The target's mount point (an empty file,
 * and the directories above it the image lacks, e.g. /run/secrets) is made before the step and
 * removed after it, so neither the mount point nor the value ever reaches the layer; a
 * directory the step itself filled stays. Values are returned for redaction of the step's output.
 */
import { chmodSync, chownSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { posix } from "node:path";
import type { BuildSecret } from "../../src/builder/build_options.ts";
import { InputError, RuntimeError, type Location } from "../../src/errors.ts";
import { resolveInRoot } from "./rootfs.ts";
import { MOUNT_POINTS, type FileBind, type SecretMount } from "./run.ts";

export interface PreparedSecrets {
  binds: FileBind[];
  redact: string[];
  /** Paths (relative to the root) made for the mounts: not part of the "before" snapshot. */
  made: ReadonlySet<string>;
  /**
   * After the step: the made paths that still hold nothing but mount points (the step may have
   * put files in a directory made for a mount: that directory is the step's now). Leaving these
   * out of the "after" snapshot too, taken before `cleanup`, keeps their parents unchanged.
   */
  transient(): Set<string>;
  /** Remove the mount points and the copies (after the step, whatever happened). */
  cleanup(): void;
  /** Secrets the step asked for and the build does not have (not required: the step runs without them). */
  absent: string[];
}

let copies = 0;

export function prepareSecrets(root: string, tmp: string, mounts: readonly SecretMount[], given: readonly BuildSecret[], location: Location, env: Readonly<Record<string, string | undefined>> = process.env): PreparedSecrets {
  const binds: FileBind[] = [];
  const redact: string[] = [];
  const made: string[] = [];
  const files: string[] = [];
  const absent: string[] = [];
  const cleanup = () => {
    for (const f of files.splice(0)) rmSync(f, { force: true });
    for (const p of made.splice(0).reverse()) {
      try {
        if (lstatSync(`${root}/${p}`).isDirectory()) rmdirSync(`${root}/${p}`);
        else rmSync(`${root}/${p}`, { force: true });
      } catch {
        // a directory the step put files in: it stays, with them
      }
    }
  };
  try {
    for (const m of mounts) {
      const secret = given.find((s) => s.id === m.id);
      if (!secret) {
        if (m.required) throw new InputError("build.secret-undeclared", `RUN --mount=type=secret,id=${m.id} is required, and the image has no secret '${m.id}'`, { location, hint: `add it to the image: secrets: { ${m.id}: { file: PATH } } (or { env: VAR })` });
        absent.push(m.id);
        continue;
      }
      const value = secretValue(secret, env);
      const copy = `${tmp}/secret-${copies++}`;
      files.push(copy);
      writeFileSync(copy, value, { mode: 0o600 });
      chownSync(copy, m.uid, m.gid);
      chmodSync(copy, m.mode);
      redact.push(...valuesOf(value));
      binds.push({ source: copy, target: mountPoint(root, m.target, made) });
    }
  } catch (e) {
    cleanup();
    throw e;
  }
  const transient = () => {
    const out = new Set<string>();
    for (const p of [...made].reverse()) {
      const abs = `${root}/${p}`;
      const st = lstatOrUndefined(abs);
      if (!st) continue;
      if (!st.isDirectory() || readdirSync(abs).every((n) => out.has(`${p}/${n}`))) out.add(p);
    }
    return out;
  };
  return { binds, redact, made: new Set(made), transient, cleanup, absent };
}

function secretValue(s: BuildSecret, env: Readonly<Record<string, string | undefined>>): Uint8Array {
  if (s.env !== undefined) {
    const value = env[s.env];
    if (value === undefined) throw new InputError("build.secret-unset", `Secret '${s.id}' comes from the environment variable '${s.env}', which is not set`, { hint: `export ${s.env} before the build, or give the secret as {file: PATH}` });
    return new TextEncoder().encode(value);
  }
  try {
    return readFileSync(s.file!);
  } catch {
    throw new InputError("build.secret-missing", `Secret '${s.id}': file '${s.file}' does not exist or cannot be read`, { hint: "paths are relative to the stack file" });
  }
}

/** The value as a RUN might print it: whole, trimmed, and each long line. Big files are not scanned. */
function valuesOf(value: Uint8Array): string[] {
  if (value.length > 64 * 1024) return [];
  const text = new TextDecoder().decode(value);
  return [text, text.trim(), ...text.split("\n").map((l) => l.trim()).filter((l) => l.length >= 8)].filter((v) => v.length > 0);
}

/** An empty file at `target` in the root to bind over (and the missing directories above it), recorded in `made`. */
function mountPoint(root: string, target: string, made: string[]): string {
  const rel = resolveInRoot(root, target);
  if (rel === "" || MOUNT_POINTS.some((m) => rel === m || rel.startsWith(`${m}/`))) throw new RuntimeError("oci.secret-target", `A secret cannot be mounted at ${JSON.stringify(target)}: the sandbox mounts its own /proc, /sys and /dev`);
  const parts = posix.dirname(rel) === "." ? [] : posix.dirname(rel).split("/");
  for (let i = 1; i <= parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    const st = lstatOrUndefined(`${root}/${dir}`);
    if (!st) {
      mkdirSync(`${root}/${dir}`, { mode: 0o755 });
      made.push(dir);
    } else if (!st.isDirectory()) throw new RuntimeError("oci.secret-target", `The secret target ${JSON.stringify(target)} is below /${dir}, which is not a directory in the stage`);
  }
  const st = lstatOrUndefined(`${root}/${rel}`);
  if (!st) {
    closeSync(openSync(`${root}/${rel}`, "w", 0o600));
    made.push(rel);
  } else if (!st.isFile()) throw new RuntimeError("oci.secret-target", `The secret target ${JSON.stringify(target)} exists in the stage and is not a file`);
  return rel;
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
