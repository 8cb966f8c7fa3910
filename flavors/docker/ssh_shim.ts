/**
 * Docker over `ssh://` with a private ssh config or key (node keys `ssh_config`, `ssh_identity`).
 * The docker CLI (20.10 and later) runs plain `ssh … -- HOST docker system dial-stdio` from PATH
 * and reads no setting of its own for ssh options, so the only way to hand it `-F FILE` or
 * `-i KEY` without touching ~/.ssh is an `ssh` first on its PATH that adds them: a two-line
 * shell script exec'ing the real ssh, in a private 0700 directory made once per process per
 * setting and removed when imgb exits.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { RuntimeError } from "../../src/errors.ts";

export interface SshSettings {
  ssh_config?: string;
  ssh_identity?: string;
}

const shims = new Map<string, string>();
let cleanupRegistered = false;

/** The PATH for a docker CLI that must use these ssh settings; undefined when none is set. */
export function sshPath(settings: SshSettings, path: string | undefined = process.env.PATH): string | undefined {
  if (!settings.ssh_config && !settings.ssh_identity) return undefined;
  const args = [
    ...(settings.ssh_config ? ["-F", settings.ssh_config] : []),
    ...(settings.ssh_identity ? ["-i", settings.ssh_identity, "-o", "IdentitiesOnly=yes"] : []),
  ];
  const dir = shimDir(args, path);
  return path ? `${dir}${delimiter}${path}` : dir;
}

function shimDir(args: string[], path: string | undefined): string {
  const key = JSON.stringify(args);
  const known = shims.get(key);
  if (known) return known;
  const ssh = Bun.which("ssh", { PATH: path ?? "" });
  if (!ssh) throw new RuntimeError("docker.no-ssh", "The docker flavor's ssh_config/ssh_identity need the ssh client, and 'ssh' is not on PATH", { hint: "install openssh-client" });
  const dir = mkdtempSync(join(tmpdir(), "imgb-ssh-"));
  writeFileSync(join(dir, "ssh"), `#!/bin/sh\nexec ${[ssh, ...args].map(shellQuote).join(" ")} "$@"\n`, { mode: 0o755 });
  shims.set(key, dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once("exit", () => {
      for (const d of shims.values()) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
