/**
 * Build secrets and ssh forwards as engine flags (`--secret id=ID,src=FILE`, `--ssh ID=PATH`),
 * spelled the same by docker (BuildKit), podman and buildah. An `env:` secret reaches the engine
 * only as a file: the engines' environment is an allow-list (src/_engine_env.ts), docker 20.10
 * has no `env=` form, and a variable would show in /proc/<pid>/environ of every child. So its
 * value goes to a 0600 file in the build's private temporary directory, removed with it (after
 * the build, on failure, on Ctrl-C). The values found are returned for redaction.
 */
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { BuildOptions } from "../../src/builder/build_options.ts";
import { InputError } from "../../src/errors.ts";

export interface MountFlags {
  /** `--secret …` and `--ssh …` arguments: paths and ids only, never a value. */
  flags: string[];
  /** The secret values, for exec's `redact` (an engine may echo one in an error). */
  redact: string[];
}

/** Contents of a secret file larger than this are not redacted (a keyring, an archive). */
const REDACT_LIMIT = 64 * 1024;

/** Needs `tmp`, a private (0700) directory removed when the build ends. */
export async function buildMountFlags(options: BuildOptions, tmp: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<MountFlags> {
  const flags: string[] = [];
  const redact: string[] = [];
  const secrets = options.secrets ?? [];
  if (secrets.some((s) => s.env !== undefined)) await mkdir(join(tmp, "secrets"), { mode: 0o700 });
  for (const [i, s] of secrets.entries()) {
    let src: string;
    if (s.env !== undefined) {
      const value = env[s.env];
      if (value === undefined) {
        throw new InputError("build.secret-unset", `Secret '${s.id}' comes from the environment variable '${s.env}', which is not set`, { hint: `export ${s.env} before the build, or give the secret as {file: PATH}` });
      }
      src = join(tmp, "secrets", String(i));
      await writeFile(src, value, { mode: 0o600 });
      redact.push(value);
    } else {
      src = s.file!;
      redact.push(...(await fileValues(s.id, src)));
    }
    flags.push("--secret", `id=${s.id},src=${noComma(src, `secret '${s.id}'`)}`);
  }
  for (const f of options.ssh ?? []) {
    const path = f.path ?? env.SSH_AUTH_SOCK;
    if (path === undefined || path === "") {
      throw new InputError("build.ssh-no-agent", `SSH forward '${f.id}' uses the agent of $SSH_AUTH_SOCK, which is not set`, { hint: "start an agent (eval \"$(ssh-agent)\"; ssh-add KEY), or give a socket or key: ssh: { ID: PATH }" });
    }
    if (!(await exists(path))) throw new InputError("build.ssh-missing", `SSH forward '${f.id}': '${path}' does not exist`, { hint: "give an ssh-agent socket or a private key file" });
    flags.push("--ssh", `${f.id}=${noComma(path, `ssh forward '${f.id}'`)}`);
  }
  return { flags, redact: redact.filter((v) => v.length > 0) };
}

/** The value of a secret file as it may be echoed: the whole text, trimmed, and each long line. */
async function fileValues(id: string, file: string): Promise<string[]> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    throw new InputError("build.secret-missing", `Secret '${id}': file '${file}' does not exist or cannot be read`, { hint: "paths are relative to the stack file" });
  }
  if (size > REDACT_LIMIT) return [];
  const text = (await readFile(file, "utf8")).trim();
  return [text, ...text.split("\n").map((l) => l.trim()).filter((l) => l.length >= 8 && l !== text)];
}

/** The engines split these flags at commas (podman and buildah without quoting rules). */
function noComma(path: string, what: string): string {
  if (path.includes(",")) throw new InputError("build.mount-path", `The path of ${what} contains a comma, which the engines' --secret/--ssh syntax cannot carry: '${path}'`, { hint: "move or link the file to a path without commas" });
  return path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** For engines that cannot mount secrets or forward ssh: a clear error instead of a silent drop. */
export function refuseMounts(engine: string, options: BuildOptions, why: string, hint: string): void {
  const keys = [options.secrets?.length ? "secrets" : "", options.ssh?.length ? "ssh" : ""].filter(Boolean);
  if (!keys.length) return;
  throw new InputError(`build.${keys[0]}-unsupported`, `The ${engine} cannot give RUN steps ${keys.map((k) => (k === "secrets" ? "build secrets" : "SSH forwarding")).join(" or ")}: ${why}`, {
    hint,
  });
}
