/**
 * An image's build secrets and ssh forwards, resolved: the stack's default secrets under the
 * image's own (an image entry of the same id wins), file paths made absolute and checked. Only
 * sources are kept, never a value: the value is read by the builder when the build starts.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { ResolvedSecret, ResolvedSsh } from "./model.ts";
import type { ImageEntry, StackFile } from "./schema.ts";

type Report = (pointer: (string | number)[], code: string, message: string, hint?: string) => void;

export function resolveSecrets(entry: ImageEntry, stack: StackFile, dir: string, report: Report): ResolvedSecret[] {
  const own = entry.secrets ?? {};
  const defaults = stack.secrets ?? {};
  const ids = [...new Set([...Object.keys(defaults), ...Object.keys(own)])].sort();
  return ids.map((id) => {
    const fromImage = id in own;
    const spec = (fromImage ? own[id] : defaults[id])!;
    if ("env" in spec) return { id, env: spec.env };
    const file = resolve(dir, spec.file);
    if (!existsSync(file)) report(fromImage ? ["secrets", id, "file"] : ["/stack", "secrets", id, "file"], "stack.secret-missing", `Secret file not found: '${file}'`, "paths are relative to the stack file");
    return { id, file };
  });
}

export function resolveSsh(entry: ImageEntry, dir: string): ResolvedSsh[] {
  const ssh = entry.ssh;
  if (ssh === undefined) return [];
  if (Array.isArray(ssh)) return [...ssh].sort().map((id) => ({ id }));
  // A socket may not exist yet (an agent started by the CI job just before the build): the builder checks it.
  return Object.keys(ssh).sort().map((id) => ({ id, path: resolve(dir, ssh[id]!) }));
}
