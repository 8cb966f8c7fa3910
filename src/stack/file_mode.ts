/**
 * File modes of extra files (`mode:`), accepted only when they are unambiguously octal: a YAML
 * octal number (`0755`, `0o755`) or a string of octal digits with a leading 0 (`"0755"`,
 * `"0o755"`). A plain `755` is YAML's decimal 755, i.e. 0o1363 (`--wxrw--wt` plus the sticky
 * bit): taking it would silently make a world-writable file, so it is refused with a hint, as is
 * anything beyond 0o777. Checked on the document, before the schema, because only the source
 * text tells `0755` from `493`.
 */
import { isScalar, type Document } from "yaml";
import { InputError } from "../errors.ts";
import { nodeAt, toPointer } from "./locate.ts";
import type { Locator } from "./schema_errors.ts";

export const MAX_FILE_MODE = 0o777;

const hint = "write the mode in octal: 0755, 0o755 or \"0755\"";

/**
 * Replaces every valid `mode` of `value.images.*.extra_files.*` by its number; reports and
 * removes an invalid one (so the schema does not report it a second time).
 */
export function checkFileModes(value: unknown, doc: Document, at: Locator, errors: InputError[]): void {
  const images = record(record(value)?.images);
  for (const [image, entry] of Object.entries(images ?? {})) {
    for (const [dest, spec] of Object.entries(record(record(entry)?.extra_files) ?? {})) {
      const file = record(spec);
      if (!file || !("mode" in file)) continue;
      const segments = ["images", image, "extra_files", dest, "mode"];
      const node = nodeAt(doc, segments);
      const literal = isScalar(node) && node.value === file.mode ? node.format : undefined;
      const mode = parseMode(file.mode, literal);
      if (typeof mode === "number") {
        file.mode = mode;
        continue;
      }
      errors.push(new InputError("stack.file-mode", mode.message, { location: at(toPointer(segments), false), hint }));
      delete file.mode;
    }
  }
}

/** The mode bits, or why the value is not an accepted mode. `format` is the YAML literal's (`OCT` for 0755/0o755). */
export function parseMode(value: unknown, format?: string): number | { message: string } {
  let mode: number;
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0) return { message: `Invalid file mode ${value}: expected octal permission bits` };
    // 0 reads the same in every base.
    if (format !== "OCT" && value !== 0) return { message: `File mode ${value} is a decimal number, not octal` };
    mode = value;
  } else if (typeof value === "string") {
    const m = /^0o?([0-7]+)$/.exec(value);
    if (!m) return { message: `Invalid file mode '${value}': expected octal digits with a leading 0` };
    mode = parseInt(m[1]!, 8);
  } else {
    return { message: `Invalid file mode: expected an octal number, got ${value === null ? "null" : Array.isArray(value) ? "a list" : typeof value}` };
  }
  if (mode > MAX_FILE_MODE) return { message: `Invalid file mode 0o${mode.toString(8)}: permission bits go up to 0o777` };
  return mode;
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
