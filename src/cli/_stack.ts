/**
 * Loading the stack for a command: the one place the CLI wires the loader to the flavor
 * registry (built-ins, flavors registered in the store, flavor files listed by the stack).
 */
import { ImgbError, InputError } from "../errors.ts";
import { FlavorCatalog } from "../catalog/catalog.ts";
import { loadFlavorFile } from "../plugins/load_flavor_file.ts";
import { chooseFlavor } from "../stack/auto_flavor.ts";
import { parseAllow } from "../stack/entitlements.ts";
import { AUTO_FLAVOR, loadStack } from "../stack/load.ts";
import type { ResolvedStack } from "../stack/model.ts";
import { Store } from "../store/store.ts";
import type { Io } from "./io.ts";

/** Built-ins plus the flavors registered in the store (declared, not imported). */
export function flavorCatalog(io: Io): FlavorCatalog {
  const catalog = FlavorCatalog.withBuiltins({ onWarning: (m) => io.err(`warning: ${m}`), loadFile: (path) => loadFlavorFile(path) });
  // The store is optional here: without it only the built-ins (and a stack's own flavor files) exist.
  try {
    const store = Store.openIfExists(io.env);
    if (store) {
      try {
        for (const record of store.listFlavors()) catalog.declare(record);
      } finally {
        store.close();
      }
    }
  } catch (e) {
    const hint = e instanceof ImgbError && e.hint ? ` (hint: ${e.hint})` : "";
    io.err(`warning: registered flavors are unavailable: ${(e as Error).message}${hint}`);
  }
  return catalog;
}

/** `options` are the command's `-f FILE` and `--allow` (see stackFileOptions). */
export async function loadStackForCommand(
  options: { file?: string | undefined; allow?: readonly string[] },
  io: Io,
  set: readonly string[] = [],
  builderConfig?: Record<string, unknown>,
): Promise<{ stack: ResolvedStack; catalog: FlavorCatalog }> {
  const allow = parseAllow(options.allow ?? [], io.cwd);
  const catalog = flavorCatalog(io);
  const stack = await loadStack(options.file, {
    allow,
    set,
    builderConfig,
    env: io.env,
    cwd: io.cwd,
    catalog,
    async loadFlavorSources(paths, reg, where) {
      for (const [i, path] of paths.entries()) {
        try {
          reg.add(await loadFlavorFile(path), path, where(i));
        } catch (e) {
          if (e instanceof InputError && !e.location?.line) {
            // Point at the stack's `flavors:` entry; keep the flavor file in the message.
            throw new InputError(e.code, e.message, { location: where(i), hint: e.hint });
          }
          throw e;
        }
      }
    },
  });
  return { stack, catalog };
}

/** Resolves `flavor: auto` to a real flavor for commands that build or plan, and says which. */
export async function useAutoFlavor(stack: ResolvedStack, catalog: FlavorCatalog, io: Io): Promise<void> {
  if (stack.imageBuilder.flavor !== AUTO_FLAVOR) return;
  const { chosen, passedOver } = await chooseFlavor(stack, catalog);
  for (const reason of passedOver) io.debug(`auto flavor: ${reason}`);
  io.err(`imgb: image builder: ${chosen} (auto${passedOver.length ? `; passed over ${passedOver.map((r) => r.split(":")[0]).join(", ")}` : ""})`);
}
