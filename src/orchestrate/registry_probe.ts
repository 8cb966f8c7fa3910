/**
 * One look at the stack's registry before anything is built: is it there, and do the stack's
 * credentials open it? A wrong password or a registry that is down then fails in seconds,
 * not at push time after every build. Without stack credentials only reachability is checked:
 * the engine pushes with the user's own login (config.json, credential helpers), and asking a
 * helper before anything needs it could prompt for a passphrase on a run that never pushes.
 */
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { registryHost } from "../image/name.ts";
import { registryClient } from "../image/remote/client.ts";
import { RuntimeError } from "../errors.ts";

export const PROBE_TIMEOUT_MS = 30_000;

export async function probeRegistry(registry: ContainerRegistry, signal: AbortSignal, timeoutMs = PROBE_TIMEOUT_MS): Promise<void> {
  const host = registryHost(registry);
  const timeout = AbortSignal.timeout(timeoutMs);
  const client = registryClient(registry, AbortSignal.any([signal, timeout]));
  try {
    if (registry.credentials) await client.checkAccess();
    else await client.ping();
  } catch (e) {
    if (signal.aborted) throw e;
    if (timeout.aborted) {
      throw new RuntimeError("registry.unreachable", `Registry ${host} did not answer GET /v2/ within ${timeoutMs / 1000} s (checked before building: nothing was built)`, {
        hint: "check the registry address and that it is running",
      });
    }
    if (e instanceof RuntimeError) {
      throw new RuntimeError(e.code, `${e.message} (checked before building: nothing was built)`, { cause: e, ...(e.hint ? { hint: e.hint } : {}) });
    }
    throw e;
  }
}
