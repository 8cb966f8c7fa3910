/**
 * Applies environment interpolation to every scalar value of a YAML document in place
 * (keys are left alone), so that errors can point at the scalar that holds the `${…}`.
 */
import { isPair, isScalar, isSeq, visit, type Document, type LineCounter, type Scalar } from "yaml";
import { InputError } from "../errors.ts";
import { interpolate, type InterpolationProblem, type KeptImageRef } from "./interpolate.ts";
import { locateOffset, pointerSegments, toPointer } from "./locate.ts";
import { EXTENSION_KEY } from "./normalize.ts";

/** Where `${images.NAME.…}` is resolved at build time: build args, and named contexts. */
const BUILD_ARG = /^\/images\/[^/]+\/(build_args|contexts)\/[^/]+$/;

export function interpolateDocument(
  doc: Document,
  lines: LineCounter,
  file: string,
  env: Record<string, string | undefined>,
  errors: InputError[],
  /** Filled with `file:line` of the scalars that write an image reference escaped (`$${images.…}`): literal text, not a misplaced reference. */
  literalRefLines?: Set<string>,
): void {
  visit(doc, {
    Scalar(key, node, path) {
      if (key === "key" || typeof node.value !== "string") return;
      const problems: InterpolationProblem[] = [];
      const refs: KeptImageRef[] = [];
      const value = interpolate(node.value, env, problems, refs);
      const pointer = pointerOf(path, node);
      // Only build args and contexts are resolved at build time; anywhere else the reference would reach the engine as text.
      // An `x-*` anchor may hold the build args of the images that merge it: its own place is no image key.
      if (!BUILD_ARG.test(pointer) && !EXTENSION_KEY.test(pointerSegments(pointer)[0] ?? "")) {
        for (const r of refs) {
          errors.push(new InputError("stack.image-ref-place", `Image reference '${r.text}' is resolved only in build_args and contexts`, {
            location: locateOffset(lines, file, sourceOffset(node, r.offset), pointer),
            hint: "pass it as a build arg (build_args: { BASE: \"${images.NAME.ref}\" }) and use ARG BASE in the Dockerfile; $${ writes a literal '${'",
          }));
        }
      }
      for (const p of problems) {
        errors.push(
          new InputError("stack.interpolation", p.message, {
            location: locateOffset(lines, file, sourceOffset(node, p.offset), pointer),
            hint: p.hint,
          }),
        );
      }
      if (literalRefLines && /\$\$\{images\./.test(node.value)) literalRefLines.add(`${file}:${locateOffset(lines, file, sourceOffset(node, 0), pointer).line}`);
      if (value !== node.value) node.value = value;
    },
  });
}

/** Best effort: plain and single-quoted/double-quoted single-line scalars map 1:1 to source. */
function sourceOffset(node: Scalar, offset: number): number {
  const start = node.range?.[0] ?? 0;
  const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE";
  if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") return start;
  return start + (quoted ? 1 : 0) + offset;
}

function pointerOf(path: readonly unknown[], node: Scalar): string {
  const segs: (string | number)[] = [];
  let parent: unknown;
  for (const p of [...path, node]) {
    if (isSeq(parent)) {
      const idx = parent.items.indexOf(p);
      if (idx >= 0) segs.push(idx);
    }
    if (isPair(p)) segs.push(isScalar(p.key) ? String(p.key.value) : String(p.key));
    parent = p;
  }
  return toPointer(segs);
}
