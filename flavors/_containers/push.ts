/**
 * Login and push for the containers-tools engines (podman, buildah): both take `--authfile`,
 * `--tls-verify` and `--digestfile` and share `containers/image` semantics. The login's flags
 * serve the build's pulls from the same registry too (see `pulls.ts`).
 */
import { join } from "node:path";
import type { ContainerRegistry } from "../../src/builder/container_registry.ts";
import { registryHost } from "../../src/image/name.ts";
import type { ImageReferences } from "../_engine/references.ts";
import { explainFailure, type FailureContext } from "../_engine/failure.ts";
import { readDigestFile } from "../_engine/files.ts";
import { tagOf } from "../_engine/references.ts";
import { registryManifestDigest } from "./registry_digest.ts";
import { seedAuthfile } from "./authfile.ts";
import type { ExecOptions, ExecResult } from "../../src/exec.ts";

export interface ContainersPushPlan {
  /** The CLI and its global flags, e.g. `["podman", "--remote", "--url", "unix://…"]`. */
  prefix: string[];
  where: FailureContext;
  /** Whether `push --digestfile` works (not with `podman --remote`). */
  digestFile: boolean;
  /** `buildah push` wants an explicit `docker://` destination; podman takes the name alone. */
  explicitDestination: boolean;
  run(argv: string[], options?: ExecOptions): Promise<ExecResult>;
  signal: AbortSignal;
}

/** `--tls-verify=false` for insecure registries, `--authfile F` when logged in. */
function registryFlags(registry: ContainerRegistry, authfile: string | undefined): string[] {
  const flags = registry.insecure ? ["--tls-verify=false"] : [];
  if (authfile) flags.push("--authfile", authfile);
  return flags;
}

/**
 * Logs in when the registry has credentials (on stdin, into a private authfile inside `tmp`
 * that starts with the user's own logins and helpers, see authfile.ts,
 * removed with it) and returns the flags every pull from and push to the registry needs.
 */
export async function loginWithContainersTools(plan: ContainersPushPlan, registry: ContainerRegistry, tmp: string): Promise<string[]> {
  let authfile: string | undefined;
  if (registry.credentials) {
    authfile = join(tmp, "auth.json");
    const host = registryHost(registry);
    seedAuthfile(authfile, host); // the user's other logins and helpers stay usable (authfile.ts)
    const { username, password } = registry.credentials;
    try {
      // The password goes to stdin only: never argv (visible in /proc), never a log line.
      await plan.run([...plan.prefix, "login", ...registryFlags(registry, authfile), "--username", username, "--password-stdin", host], { stdin: password.reveal() });
    } catch (e) {
      throw explainFailure(e, "login", `registry '${host}'`, plan.where);
    }
  }
  return registryFlags(registry, authfile);
}

/** Pushes every reference with `flags` (from `loginWithContainersTools`) and returns the manifest digest of the primary one. */
export async function pushWithContainersTools(plan: ContainersPushPlan, registry: ContainerRegistry, refs: ImageReferences, tmp: string, flags: readonly string[]): Promise<string> {
  let digest: string | undefined;
  for (const ref of refs.all) {
    const digestfile = join(tmp, `digest-${refs.all.indexOf(ref)}`);
    const argv = [...plan.prefix, "push", ...flags];
    if (plan.digestFile) argv.push("--digestfile", digestfile);
    argv.push(ref);
    if (plan.explicitDestination) argv.push(`docker://${ref}`);
    try {
      await plan.run(argv);
    } catch (e) {
      throw explainFailure(e, "push", `'${ref}'`, plan.where);
    }
    if (ref !== refs.primary) continue;
    digest = plan.digestFile
      ? await readDigestFile(digestfile, "manifest digest")
      : await registryManifestDigest(registry, refs.repository!, tagOf(ref), plan.signal);
  }
  return digest!;
}
