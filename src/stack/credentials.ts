/**
 * From the stack's registry section to the contract's ContainerRegistry, reading the secret
 * from its environment variable or file only now, at build time. Errors name where the secret
 * should have come from, never what it is.
 */
import { readFileSync } from "node:fs";
import type { ContainerRegistry } from "../builder/container_registry.ts";
import { InputError } from "../errors.ts";
import { Secret } from "../secret.ts";
import type { ResolvedRegistry } from "./model.ts";

export function containerRegistry(r: ResolvedRegistry, env: Record<string, string | undefined>): ContainerRegistry {
  const out: ContainerRegistry = { uri: r.uri, insecure: r.insecure };
  if (r.repository !== undefined) out.repository = r.repository;
  const c = r.credentials;
  if (!c) return out;
  let password: Secret;
  if (c.passwordEnv !== undefined) {
    const value = env[c.passwordEnv];
    if (value === undefined || value === "") {
      throw new InputError("registry.password-unset", `Registry password variable '${c.passwordEnv}' is not set`, {
        location: { path: "/container_registry/credentials/password_env" },
        hint: `export ${c.passwordEnv} before running imgb build`,
      });
    }
    password = new Secret(value, `env ${c.passwordEnv}`);
  } else {
    const file = c.passwordFile!;
    let value: string;
    try {
      value = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new InputError("registry.password-file", `Cannot read registry password file '${file}': ${(e as NodeJS.ErrnoException).code ?? "error"}`, {
        location: { path: "/container_registry/credentials/password_file" },
      });
    }
    if (value === "") throw new InputError("registry.password-file", `Registry password file '${file}' is empty`, { location: { path: "/container_registry/credentials/password_file" } });
    password = new Secret(value, `file ${file}`);
  }
  out.credentials = { username: c.username, password };
  return out;
}
