/**
 * Shape checks for a flavor object, applied the same way to built-ins and user flavors before
 * anything else of theirs is used. The implementation module is never imported here.
 */
import { Kind, type TObject, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { CONTRACT_VERSION, NODE_OWN_KEYS, NODES_CONFIG_KEYS, SUPPORTED_CONTRACT_VERSIONS, UNDECLARED_CONTRACT_VERSION, type AnyFlavor, type Flavor } from "../builder/flavor.ts";
import { InputError, type Location } from "../errors.ts";

const RESERVED_NODE_KEYS = [...NODE_OWN_KEYS, ...NODES_CONFIG_KEYS];

export const FLAVOR_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,62}$/;

export function checkFlavor(candidate: unknown, where: Location): AnyFlavor {
  const fail = (message: string, hint?: string) => new InputError("flavor.invalid", message, { location: where, hint });
  if (typeof candidate !== "object" || candidate === null) {
    throw fail("Not a flavor: expected an object made with defineFlavor()", "export default defineFlavor({ name, type: 'image_builder', config, implementation })");
  }
  const f = candidate as Partial<Flavor> & Record<string, unknown>;
  if (f.contractVersion === undefined) f.contractVersion = UNDECLARED_CONTRACT_VERSION;
  if (typeof f.contractVersion !== "number" || !SUPPORTED_CONTRACT_VERSIONS.includes(f.contractVersion)) {
    throw fail(
      `Unsupported flavor contract version ${JSON.stringify(f.contractVersion)}: this imgb supports versions ${SUPPORTED_CONTRACT_VERSIONS.join(", ")} (current: ${CONTRACT_VERSION})`,
      `update the flavor to contract ${CONTRACT_VERSION} (docs/custom-flavor.md) and declare it: defineFlavor({ contractVersion: ${CONTRACT_VERSION}, … })`,
    );
  }
  if (typeof f.name !== "string" || !FLAVOR_NAME_PATTERN.test(f.name)) {
    throw fail(`Invalid flavor name ${JSON.stringify(f.name)}: must match ${FLAVOR_NAME_PATTERN.source}`);
  }
  if (f.type !== "image_builder") {
    throw fail(`Invalid flavor type ${JSON.stringify(f.type)} for flavor '${f.name}': expected 'image_builder'`);
  }
  if (!isObjectSchema(f.config)) {
    throw fail(`Flavor '${f.name}' has no TypeBox config schema: 'config' must be Type.Object({...})`);
  }
  const badDefault = invalidDefault(f.config, "");
  if (badDefault) {
    throw fail(
      `Flavor '${f.name}': the default of config key '${badDefault.path}' (${JSON.stringify(badDefault.value)}) breaks its own schema: ${badDefault.message}`,
      "fix the default in the flavor's config schema, or drop it; otherwise every stack using the flavor fails at a key its user never wrote",
    );
  }
  if (typeof f.implementation !== "function") {
    throw fail(`Flavor '${f.name}' has no implementation loader`, "implementation: async () => (await import('./my_builder.ts')).MyBuilder");
  }
  if (f.probe !== undefined && typeof f.probe !== "function") throw fail(`Flavor '${f.name}': 'probe' must be a function`);
  if (f.pushesToRegistry !== undefined && typeof f.pushesToRegistry !== "function") throw fail(`Flavor '${f.name}': 'pushesToRegistry' must be a function`);
  if (f.validate !== undefined && typeof f.validate !== "function") throw fail(`Flavor '${f.name}': 'validate' must be a function (config) => problems`);
  if (f.staticCheck !== undefined && typeof f.staticCheck !== "function") throw fail(`Flavor '${f.name}': 'staticCheck' must be a function`);
  if (f.extraFlags !== undefined && !(Array.isArray(f.extraFlags) && f.extraFlags.every((x) => typeof x === "string" && x.startsWith("--")))) {
    throw fail(`Flavor '${f.name}': 'extraFlags' must be a list of '--flag' names`);
  }
  if (f.nodeKeys !== undefined) {
    const keys = Object.keys(f.config.properties ?? {});
    const clash = keys.find((k) => NODES_CONFIG_KEYS.includes(k));
    if (clash) throw fail(`Flavor '${f.name}' has 'nodeKeys', so its config may not have a key '${clash}' of its own: imgb reads it for the builder nodes`);
    const bad = Array.isArray(f.nodeKeys) ? f.nodeKeys.find((k) => typeof k !== "string" || !keys.includes(k) || RESERVED_NODE_KEYS.includes(k)) : f.nodeKeys;
    if (!Array.isArray(f.nodeKeys) || bad !== undefined) {
      throw fail(`Flavor '${f.name}': 'nodeKeys' must list keys of its config schema (not ${RESERVED_NODE_KEYS.map((k) => `'${k}'`).join(", ")}); ${JSON.stringify(bad)} is not one`, `its config keys: ${keys.join(", ")}`);
    }
  }
  if (typeof f.description !== "string") f.description = "";
  return f as AnyFlavor;
}

function isObjectSchema(s: unknown): s is TObject {
  return typeof s === "object" && s !== null && (s as Record<symbol, unknown>)[Kind] === "Object";
}

/**
 * The first `default` in a config schema that its own schema refuses (`Type.Integer({ minimum:
 * 5, default: 1 })`), looked for in every nested schema: defaults fill keys a user did not
 * write, so a broken one would fail every stack at a key nobody wrote.
 */
function invalidDefault(schema: TSchema, path: string): { path: string; value: unknown; message: string } | undefined {
  if ("default" in schema) {
    let first;
    try {
      first = Value.Errors(schema, schema.default).First();
    } catch (e) {
      first = { message: (e as Error).message };
    }
    if (first) return { path: path.replace(/^\./, "") || "(the config itself)", value: schema.default, message: first.message };
  }
  for (const [key, sub] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
    const found = invalidDefault(sub, `${path}.${key}`);
    if (found) return found;
  }
  for (const sub of [...((schema.anyOf ?? []) as TSchema[]), ...(schema.items && !Array.isArray(schema.items) ? [schema.items as TSchema] : [])]) {
    const found = invalidDefault(sub, path);
    if (found) return found;
  }
  return undefined;
}
