/**
 * The flavors imgb knows in one run: the built-ins, flavors registered in the store (declared
 * from their records, imported only when a stack uses them), and flavors a stack file lists
 * under `flavors:`. Every flavor passes the same shape check; implementations are never
 * imported here.
 */
import { existsSync, readFileSync } from "node:fs";
import type { AnyFlavor } from "../builder/flavor.ts";
import { formatLocation, InputError, type Location } from "../errors.ts";
import type { FlavorRecord } from "../store/store.ts";
import { builtinFlavors } from "./builtins.ts";
import { checkFlavor } from "./check_flavor.ts";

export interface RegisteredFlavor {
  flavor: AnyFlavor;
  /** `builtin`, or the absolute path of the source file it came from. */
  origin: "builtin" | string;
}

export interface FlavorCatalogOptions {
  onWarning?: (message: string) => void;
  /**
   * Imports a user's flavor file (src/plugins/load_flavor_file.ts, which serves it the SDK).
   * Given by the caller, so the registry never depends on the SDK, which depends on it.
   */
  loadFile?: (path: string) => Promise<AnyFlavor>;
}

export class FlavorCatalog {
  readonly #flavors = new Map<string, RegisteredFlavor>();
  readonly #declared = new Map<string, FlavorRecord>();
  readonly #onWarning: (message: string) => void;
  readonly #loadFile: ((path: string) => Promise<AnyFlavor>) | undefined;

  constructor(options: FlavorCatalogOptions = {}) {
    this.#onWarning = options.onWarning ?? (() => {});
    this.#loadFile = options.loadFile;
  }

  static withBuiltins(options: FlavorCatalogOptions = {}): FlavorCatalog {
    const r = new FlavorCatalog(options);
    for (const f of builtinFlavors) r.add(f, "builtin", {});
    return r;
  }

  /** Adds a flavor after checking its shape; a name already taken by another origin is an error. */
  add(candidate: unknown, origin: string, where: Location): AnyFlavor {
    const flavor = checkFlavor(candidate, where);
    const existing = this.#flavors.get(flavor.name);
    if (existing && existing.origin !== origin) {
      throw new InputError(
        "flavor.duplicate",
        existing.origin === "builtin"
          ? `Flavor name '${flavor.name}' is taken by a built-in flavor`
          : `Flavor name '${flavor.name}' is already defined in '${existing.origin}'`,
        { location: where, hint: "choose another name, or remove the other one with 'imgb flavor remove'" },
      );
    }
    const registered = this.#declared.get(flavor.name);
    if (registered && registered.source !== origin) {
      // A stack's own flavor file wins over the registered one of the same name; say so.
      const listed = where.file ? ` (listed in ${formatLocation(where)})` : "";
      this.#onWarning(`flavor '${flavor.name}' from '${origin}'${listed} shadows the registered flavor '${flavor.name}' from '${registered.source}'`);
    }
    this.#flavors.set(flavor.name, { flavor, origin });
    this.#declared.delete(flavor.name);
    return flavor;
  }

  /** Knows a registered flavor by its store record; its file is imported on first `load()`. */
  declare(record: FlavorRecord): void {
    if (!this.#flavors.has(record.name)) this.#declared.set(record.name, record);
  }

  /** The flavor of that name, importing a registered flavor's file when needed. */
  async load(name: string, where: Location): Promise<RegisteredFlavor | undefined> {
    const ready = this.#flavors.get(name);
    if (ready) return ready;
    const record = this.#declared.get(name);
    if (!record) return undefined;
    if (!existsSync(record.source)) {
      throw new InputError("flavor.source-missing", `Flavor '${name}' was registered from '${record.source}', which no longer exists`, {
        location: where,
        hint: `moved it? run 'imgb flavor register NEW_PATH', or 'imgb flavor remove ${name}'`,
      });
    }
    if (sha256File(record.source) !== record.sha256) {
      this.#onWarning(`flavor '${name}': '${record.source}' changed since it was registered; run 'imgb flavor register ${record.source}' to record it`);
    }
    if (!this.#loadFile) throw new Error(`FlavorCatalog: no loadFile given, cannot import registered flavor '${name}'`);
    const flavor = await this.#loadFile(record.source);
    if (flavor.name !== name) {
      throw new InputError("flavor.renamed", `Flavor file '${record.source}' now defines flavor '${flavor.name}', not '${name}'`, {
        location: where,
        hint: `register it again: imgb flavor register ${record.source}`,
      });
    }
    this.#flavors.set(name, { flavor, origin: record.source });
    this.#declared.delete(name);
    return this.#flavors.get(name);
  }

  get(name: string): RegisteredFlavor | undefined {
    return this.#flavors.get(name);
  }

  names(): string[] {
    return [...new Set([...this.#flavors.keys(), ...this.#declared.keys()])];
  }

  /** Loaded flavors (built-ins and those already imported). */
  list(): RegisteredFlavor[] {
    return [...this.#flavors.values()];
  }

  /** Registered flavors not imported in this run. */
  declared(): FlavorRecord[] {
    return [...this.#declared.values()];
  }
}

export function sha256File(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}
