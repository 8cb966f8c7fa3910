/** Private temporary files, and the values engines leave in them (--iidfile, --digestfile) or print (inspect). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeError } from "../../src/errors.ts";
import { exec } from "../../src/exec.ts";

/** A private (0700) temporary directory, removed when `fn` settles, whatever happens. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `imgb-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads a `sha256:…` value an engine wrote to a file (--iidfile, --digestfile). */
export async function readDigestFile(path: string, what: string): Promise<string> {
  const file = Bun.file(path);
  const text = (await file.exists()) ? (await file.text()).trim() : "";
  const digest = text.startsWith("sha256:") ? text : /^[0-9a-f]{64}$/.test(text) ? `sha256:${text}` : "";
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) {
    throw new RuntimeError("build.no-digest", `The engine did not report the ${what}: ${JSON.stringify(path)} holds ${JSON.stringify(text.slice(0, 80))}`);
  }
  return digest;
}

/** The image ID an inspect command prints (`sha256:…`), or undefined when the engine has no such image. */
export async function inspectImageId(argv: string[], signal: AbortSignal): Promise<string | undefined> {
  try {
    const id = (await exec(argv, { signal })).stdout.trim();
    return id ? (id.startsWith("sha256:") ? id : `sha256:${id}`) : undefined;
  } catch {
    return undefined;
  }
}
