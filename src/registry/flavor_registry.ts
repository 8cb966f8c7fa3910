/**
 * The flavors imgb knows in one run: the built-ins plus user flavors (from the embedded store or
 * a stack file's `flavors:` list). Registration checks a flavor's shape; it never imports the
 * flavor's implementation.
 */
import type { AnyFlavor } from "../builder/flavor.ts";
import { InputError, type Location } from "../errors.ts";
import { builtinFlavors } from "./builtins.ts";
import { checkFlavor } from "./check_flavor.ts";

export interface RegisteredFlavor {
  flavor: AnyFlavor;
  /** `builtin`, or the absolute path of the source file it came from. */
  origin: "builtin" | string;
}

export class FlavorRegistry {
  readonly #flavors = new Map<string, RegisteredFlavor>();

  static withBuiltins(): FlavorRegistry {
    const r = new FlavorRegistry();
    for (const f of builtinFlavors) r.add(f, "builtin", {});
    return r;
  }

  /** Adds a flavor after checking its shape; a name already taken is an error. */
  add(candidate: unknown, origin: string, where: Location): AnyFlavor {
    const flavor = checkFlavor(candidate, where);
    const existing = this.#flavors.get(flavor.name);
    if (existing && existing.origin !== origin) {
      throw new InputError(
        "flavor.duplicate",
        existing.origin === "builtin"
          ? `Flavor name '${flavor.name}' is taken by a built-in flavor`
          : `Flavor name '${flavor.name}' is already registered from '${existing.origin}'`,
        { location: where, hint: "choose another name, or remove the other one with 'imgb flavor remove'" },
      );
    }
    this.#flavors.set(flavor.name, { flavor, origin });
    return flavor;
  }

  get(name: string): RegisteredFlavor | undefined {
    return this.#flavors.get(name);
  }

  names(): string[] {
    return [...this.#flavors.keys()];
  }

  list(): RegisteredFlavor[] {
    return [...this.#flavors.values()];
  }
}
