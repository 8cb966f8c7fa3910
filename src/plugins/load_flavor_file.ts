/**
 * Importing a user's flavor file and checking what it exports. Only the flavor module itself
 * is imported (name + config schema, by design light); its implementation stays behind the
 * flavor's `implementation()` loader. Every failure becomes one InputError naming the file.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { AnyFlavor } from "../builder/flavor.ts";
import { InputError, type Location } from "../errors.ts";
import { checkFlavor } from "../catalog/check_flavor.ts";
import { installSdkModule } from "./sdk_module.ts";

export async function loadFlavorFile(path: string, cwd = process.cwd()): Promise<AnyFlavor> {
  const file = resolve(cwd, path);
  try {
    if (!statSync(file).isFile()) throw new Error("not a file");
  } catch {
    throw new InputError("flavor.file-missing", `Flavor file not found: '${file}'`, { hint: "give the path of a .ts or .js file that exports a flavor" });
  }
  installSdkModule();
  let mod: Record<string, unknown>;
  try {
    mod = (await import(file)) as Record<string, unknown>;
  } catch (e) {
    throw importError(file, e);
  }
  return checkFlavor(pickExport(file, mod), { file });
}

/** `export default defineFlavor(…)`, else the one export that looks like a flavor. */
function pickExport(file: string, mod: Record<string, unknown>): unknown {
  if (mod.default !== undefined) return mod.default;
  const candidates = Object.entries(mod).filter(([, v]) => typeof v === "object" && v !== null && "contractVersion" in v && "name" in v);
  if (candidates.length === 1) return candidates[0]![1];
  throw new InputError(
    "flavor.no-export",
    candidates.length ? `Flavor file '${file}' exports ${candidates.length} flavors: ${candidates.map(([k]) => k).join(", ")}` : `Flavor file '${file}' does not export a flavor`,
    { location: { file }, hint: "export default defineFlavor({ … }) from 'imgb'" },
  );
}

interface BunMessage {
  message: string;
  position?: { file?: string; line?: number; column?: number } | null;
  specifier?: string;
}

function importError(file: string, e: unknown): InputError {
  const messages: BunMessage[] = e instanceof AggregateError ? (e.errors as BunMessage[]) : [e as BunMessage];
  const first = messages[0];
  const pos = first?.position;
  if (pos && pos.line) {
    const location: Location = { file: pos.file ?? file, line: pos.line, ...(pos.column ? { col: pos.column } : {}) };
    return new InputError("flavor.syntax", `Flavor file has a syntax error: ${first.message}`, { location, hint: messages.length > 1 ? `${messages.length} errors in all` : undefined });
  }
  if (first?.specifier) {
    const bare = !first.specifier.startsWith(".") && !first.specifier.startsWith("/");
    return new InputError("flavor.import", `Flavor file '${file}' imports '${first.specifier}', which cannot be found`, {
      location: { file },
      hint: bare ? "inside imgb, flavor files import from 'imgb' (the SDK) and '@sinclair/typebox' only, plus relative files" : undefined,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new InputError("flavor.load", `Flavor file '${file}' threw while loading: ${message}`, { location: { file }, cause: e });
}
