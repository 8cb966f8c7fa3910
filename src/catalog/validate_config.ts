/**
 * Running a flavor's `validate(config)` hook (the custom validation of its config, beyond the
 * schema) and turning what it returns into InputErrors located at the config's keys. Used at
 * every stack load, and once at registration on the schema's defaults to refuse a broken hook.
 */
import { Value } from "@sinclair/typebox/value";
import type { AnyFlavor, ConfigProblem } from "../builder/flavor.ts";
import { InputError, type Location } from "../errors.ts";

/**
 * The problems `flavor.validate` finds in `config` (already schema-valid, defaults filled in).
 * `at(pointer)` locates a JSON pointer of the stack (`prefix` + the problem's path); `origin` is
 * the flavor's source file, named when the hook itself fails.
 */
export async function configProblems(flavor: AnyFlavor, config: Record<string, unknown>, at: (pointer: string) => Location, prefix: string, origin: string): Promise<InputError[]> {
  if (!flavor.validate) return [];
  const problems = await callHook(flavor, config, at(prefix), origin);
  return problems.map((p) => {
    const path = typeof p === "string" || !p.path ? "" : p.path.startsWith("/") ? p.path : `/${p.path}`;
    const message = typeof p === "string" ? p : p.message;
    const hint = typeof p === "string" ? undefined : p.hint;
    return new InputError("stack.flavor-config", `Flavor '${flavor.name}': ${message}`, { location: at(prefix + path), hint });
  });
}

/**
 * At registration: the hook must run and answer with a list, here on the config made of the
 * schema's defaults. Problems it reports are fine (a config may need keys with no default);
 * a hook that throws or returns something else is refused now rather than at every stack.
 */
export async function checkValidateHook(flavor: AnyFlavor, file: string): Promise<void> {
  if (!flavor.validate) return;
  const defaults = Value.Default(flavor.config, {}) as Record<string, unknown>;
  if (!Value.Check(flavor.config, defaults)) return;
  await callHook(flavor, defaults, { file }, file);
}

async function callHook(flavor: AnyFlavor, config: Record<string, unknown>, where: Location, origin: string): Promise<readonly (string | ConfigProblem)[]> {
  const fail = (what: string) =>
    new InputError("flavor.validate", `Flavor '${flavor.name}' (${origin}): validate() ${what}`, {
      location: where,
      hint: "validate(config) returns a list of problems: strings, or { message, path } with path a JSON pointer into the config",
    });
  let result: unknown;
  try {
    result = await flavor.validate!(structuredClone(config));
  } catch (e) {
    throw fail(`threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(result)) throw fail(`returned ${result === null ? "null" : typeof result}, not a list`);
  const bad = result.find((p) => typeof p !== "string" && !(typeof p === "object" && p !== null && typeof p.message === "string" && (p.path === undefined || typeof p.path === "string")));
  if (bad !== undefined) throw fail(`returned a problem that is neither a string nor { message, path? }: ${JSON.stringify(bad)}`);
  return result as (string | ConfigProblem)[];
}
