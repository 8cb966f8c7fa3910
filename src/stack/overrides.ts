/**
 * `--set PATTERN.KEY[.SUBKEY]=VALUE` overrides, like `docker buildx bake --set`: PATTERN is an
 * image name or a glob (`*`, `?`); KEY is any image key of the stack schema (the schema decides
 * which keys exist and how a value is converted, so nothing here lists fields by hand).
 *   --set app.target=debug   --set '*.platforms=linux/amd64,linux/arm64'   --set app.build_args.V=2
 * Applied to the stack value before validation, so overridden values are checked like the file.
 */
import type { TSchema } from "@sinclair/typebox";
import { UsageError } from "../errors.ts";
import { toPointer } from "./locate.ts";
import { ImageSchema } from "./schema.ts";
import { closest } from "../suggest.ts";

export interface Override {
  pattern: string;
  key: string;
  sub?: string;
  value: string;
  /** The argument as given, for messages. */
  raw: string;
}

export function parseOverride(raw: string): Override {
  const eq = raw.indexOf("=");
  const lhs = eq > 0 ? raw.slice(0, eq) : "";
  const parts = lhs.split(".");
  // Image names may contain dots and slashes ("team/app.v2"): the key is the first segment that is a schema key.
  const keys = Object.keys(ImageSchema.properties);
  const at = parts.findIndex((p, i) => i > 0 && keys.includes(p));
  if (eq <= 0 || parts.length < 2 || at < 0) {
    const guess = parts.length >= 2 ? closest(parts[parts.length - 1]!, keys) : undefined;
    throw new UsageError("cli.bad-set", `Invalid --set '${raw}': expected IMAGE.KEY=VALUE with KEY one of ${keys.join(", ")}`, {
      hint: guess ? `did you mean '${parts.slice(0, -1).join(".")}.${guess}'?` : "e.g. --set app.target=debug, --set '*.no_cache=true'",
    });
  }
  const o: Override = { pattern: parts.slice(0, at).join("."), key: parts[at]!, value: raw.slice(eq + 1), raw };
  const sub = parts.slice(at + 1).join(".");
  if (sub) o.sub = sub;
  return o;
}

/** An override and the JSON pointers of the values it set, so errors about them can name it. */
export interface AppliedOverride {
  override: Override;
  pointers: string[];
}

/** Applies overrides to the (interpolated, not yet validated) stack value, in place. */
export function applyOverrides(stack: unknown, overrides: readonly Override[]): AppliedOverride[] {
  const applied: AppliedOverride[] = [];
  if (!overrides.length) return applied;
  const images = (stack as { images?: Record<string, Record<string, unknown>> } | null)?.images;
  if (!images || typeof images !== "object") return applied;
  for (const o of overrides) {
    const re = globToRegExp(o.pattern);
    const targets = Object.keys(images).filter((n) => re.test(n));
    if (!targets.length) {
      const guess = closest(o.pattern, Object.keys(images));
      throw new UsageError("cli.set-no-match", `--set '${o.raw}' matches no image`, { hint: guess ? `did you mean '${guess}'?` : `images: ${Object.keys(images).join(", ")}` });
    }
    const schema = ImageSchema.properties[o.key as keyof typeof ImageSchema.properties] as TSchema;
    const pointers: string[] = [];
    applied.push({ override: o, pointers });
    for (const name of targets) {
      pointers.push(toPointer(["images", name, o.key, ...(o.sub ? [o.sub] : [])]));
      const image = (images[name] ??= {});
      if (isRecord(schema) || (o.sub && hasRecordBranch(schema))) {
        if (!o.sub) throw new UsageError("cli.bad-set", `--set '${o.raw}': '${o.key}' is a mapping; set one entry: ${o.pattern}.${o.key}.NAME=VALUE`);
        // `ssh: [default]` set before becomes the mapping form: an entry cannot be added to a list.
        if (Array.isArray(image[o.key])) image[o.key] = {};
        const map = (image[o.key] ??= {}) as Record<string, unknown>;
        map[o.sub] = o.key === "extra_files" ? { content: o.value } : o.key === "secrets" ? secretSource(o.value) : o.value;
      } else {
        if (o.sub) throw new UsageError("cli.bad-set", `--set '${o.raw}': '${o.key}' has no sub-keys`);
        image[o.key] = convert(schema, o.value);
      }
    }
  }
  return applied;
}

function convert(schema: TSchema, value: string): unknown {
  const s = schema.anyOf ? (schema.anyOf as TSchema[])[0]! : schema;
  switch (s.type) {
    case "boolean":
      return value === "true" ? true : value === "false" ? false : value;
    case "array":
      return value === "" ? [] : value.split(",").map((v) => v.trim());
    case "integer":
    case "number":
      return /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    default:
      return value;
  }
}

/** `--set app.secrets.TOKEN=env=VAR` / `file=PATH` (buildx's spelling; `src=` too); anything else is left for the schema to refuse. */
function secretSource(value: string): unknown {
  const m = /^(env|file|src)=(.*)$/.exec(value);
  if (!m) return value;
  return m[1] === "env" ? { env: m[2] } : { file: m[2] };
}

/** A union with a mapping form (`ssh: [default] | {ID: PATH}`): a sub-key sets an entry of the mapping. */
function hasRecordBranch(schema: TSchema): boolean {
  return ((schema.anyOf as TSchema[] | undefined) ?? []).some(isRecord);
}

function isRecord(schema: TSchema): boolean {
  return schema.type === "object" && schema.patternProperties !== undefined;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}
