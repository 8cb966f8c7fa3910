/**
 * Build-context problems found without building: the ignore file each image will use (the one
 * the build itself picks, through contextForImage) is parsed, so an invalid pattern is an input
 * error of `validate`, with the ignore file's line, rather than a failure in the middle of a build.
 */
import { readFileSync } from "node:fs";
import { contextForImage } from "./image_context.ts";
import { IgnoreMatcher } from "../context/ignore.ts";
import { InputError } from "../errors.ts";
import { toPointer } from "./locate.ts";
import type { ResolvedStack } from "./model.ts";
import type { Locator } from "./schema_errors.ts";

/** `skip`: images that already have an error (a missing context or ignore file says enough). */
export function checkContexts(stack: ResolvedStack, skip: ReadonlySet<string>, at: Locator, errors: InputError[]): void {
  for (const image of Object.values(stack.images)) {
    if (skip.has(image.name)) continue;
    const where = at(toPointer(["images", image.name]), true);
    try {
      // A fixed epoch: SOURCE_DATE_EPOCH is the build's business, and would be one error per image here.
      const { context } = contextForImage(image, undefined, { sourceDateEpoch: 0 });
      if (context.ignoreFile === undefined) continue;
      let text: string;
      try {
        text = readFileSync(context.ignoreFile, "utf8");
      } catch (e) {
        errors.push(new InputError("stack.dockerignore-unreadable", `Cannot read ignore file '${context.ignoreFile}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { location: where }));
        continue;
      }
      IgnoreMatcher.parse(text, context.ignoreFile);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      // Errors about the ignore file carry its file:line; others point at the image.
      errors.push(e.location?.file ? e : new InputError(e.code, e.message, { location: where, hint: e.hint }));
    }
  }
}
