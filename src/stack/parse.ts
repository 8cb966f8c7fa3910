/**
 * Reading a stack file into a YAML document with source positions. Refuses what is not a
 * reasonable stack file (too large, binary, empty) before the YAML parser sees it, and never
 * expands aliases beyond a small budget (billion-laughs documents fail fast).
 */
import { Document, LineCounter, parseDocument, isAlias, visit } from "yaml";
import { InputError } from "../errors.ts";
import { locateOffset } from "./locate.ts";

/** Larger than any sane stack file; keeps a mistaken `-f big.bin` from eating memory. */
export const MAX_STACK_BYTES = 1024 * 1024;
/** Aliases allowed in one stack file; anchors are for small reuse, not for building trees. */
export const MAX_ALIASES = 100;

export interface ParsedStack {
  file: string;
  text: string;
  doc: Document;
  lines: LineCounter;
}

export async function readStackText(file: string): Promise<string> {
  const f = Bun.file(file);
  let size: number;
  try {
    const st = await f.stat();
    if (st.isDirectory()) throw new InputError("stack.is-directory", `Stack file '${file}' is a directory`, { hint: "pass the YAML file itself with -f" });
    size = st.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" && (e as NodeJS.ErrnoException).code !== "ENOTDIR") {
      throw new InputError("stack.unreadable", `Cannot read stack file '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    throw new InputError("stack.not-found", `Stack file not found: '${file}'`, {
      hint: "pass a stack file with -f FILE, or create imgb.yaml in the current directory",
    });
  }
  if (size > MAX_STACK_BYTES) {
    throw new InputError("stack.too-large", `Stack file is too large: ${(size / 1048576).toFixed(1)} MiB (the limit is ${MAX_STACK_BYTES / 1048576} MiB)`, {
      location: { file },
      hint: "a stack file describes images; large data belongs in the build context",
    });
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await f.arrayBuffer());
  } catch (e) {
    throw new InputError("stack.unreadable", `Cannot read stack file '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new InputError("stack.binary", `Stack file is not text: it contains a NUL byte at offset ${nul}`, {
      location: { file },
      hint: "is -f pointing at the right file?",
    });
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw new InputError("stack.encoding", "Stack file is not valid UTF-8", { location: { file }, hint: "save it as UTF-8" });
  }
}

/**
 * `0755` is octal, as in YAML 1.1 and docker compose, rather than YAML 1.2's decimal 755: file
 * modes are written that way, and reading them as decimal would silently give wrong bits.
 */
const yaml11Octal = {
  identify: (v: unknown) => typeof v === "number",
  default: true,
  tag: "tag:yaml.org,2002:int",
  format: "OCT",
  test: /^0[0-7]+$/,
  resolve: (s: string) => parseInt(s, 8),
};

/** Parses YAML, collecting every syntax error (with position) instead of stopping at the first. */
export function parseStack(file: string, text: string, errors: InputError[]): ParsedStack | undefined {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, keepSourceTokens: false, strict: true, customTags: (tags) => [yaml11Octal, ...tags] });
  const at = new Set<number>();
  for (const e of doc.errors) {
    // The parser may explain one mistake twice at the same place: one line each.
    if (at.has(e.pos[0])) continue;
    at.add(e.pos[0]);
    const loc = locateOffset(lines, file, e.pos[0]);
    errors.push(new InputError(`yaml.${e.code.toLowerCase().replace(/_/g, "-")}`, yamlMessage(e.code, e.message), { location: loc, hint: yamlHint(e.code) }));
  }
  if (doc.errors.length) return undefined;
  if (doc.contents === null || doc.contents === undefined) {
    errors.push(new InputError("stack.empty", "Stack file is empty", { location: { file, line: 1, col: 1 }, hint: "a stack needs at least 'image_builder:' and 'images:'" }));
    return undefined;
  }
  let aliases = 0;
  let firstExcess: number | undefined;
  let undefinedAlias = false;
  visit(doc, {
    Alias(_k, node) {
      aliases++;
      if (aliases > MAX_ALIASES && firstExcess === undefined) firstExcess = node.range?.[0];
      // An alias without an anchor before it is a mistake of its own, not an expansion problem.
      if (!node.resolve(doc)) {
        undefinedAlias = true;
        errors.push(new InputError("yaml.undefined-alias", `Undefined YAML alias '*${node.source}': no anchor '&${node.source}' before it`, {
          location: locateOffset(lines, file, node.range?.[0] ?? 0),
          hint: "define the anchor (&name) before its first use, or write the value out",
        }));
      }
    },
  });
  if (undefinedAlias) return undefined;
  if (firstExcess !== undefined) {
    errors.push(new InputError("yaml.too-many-aliases", `Too many YAML aliases: more than ${MAX_ALIASES}`, {
      location: locateOffset(lines, file, firstExcess),
      hint: "aliases are limited to keep alias bombs from expanding; write the values out",
    }));
    return undefined;
  }
  return { file, text, doc, lines };
}

/** The YAML value; alias expansion is bounded so a small file cannot become a huge value. */
export function toValue(parsed: ParsedStack, errors: InputError[]): unknown {
  try {
    return parsed.doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const firstAlias = findFirstAlias(parsed.doc);
    errors.push(new InputError("yaml.alias-expansion", `YAML aliases expand too much: ${(e as Error).message}`, {
      location: locateOffset(parsed.lines, parsed.file, firstAlias ?? 0),
      hint: "aliases are limited to keep alias bombs from expanding; write the values out",
    }));
    return undefined;
  }
}

function findFirstAlias(doc: Document): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Alias(_k, node) {
      if (isAlias(node) && at === undefined) at = node.range?.[0];
    },
  });
  return at;
}

function yamlMessage(code: string, message: string): string {
  const first = message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
  if (code === "DUPLICATE_KEY") return "Duplicate key: each key may appear once in a mapping";
  if (code === "MULTIPLE_DOCS") return "Stack file holds more than one YAML document: a second one starts here";
  return `Invalid YAML: ${first.charAt(0).toLowerCase()}${first.slice(1)}`;
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case "DUPLICATE_KEY":
      return "remove or rename one of the two";
    case "MULTIPLE_DOCS":
      return "one stack per file: remove this '---' and what follows, or move it to a file of its own";
    case "TAB_AS_INDENT":
      return "indent with spaces, not tabs";
    case "BAD_INDENT":
    case "MISSING_CHAR":
      return "check the indentation and quoting on this line";
    default:
      return undefined;
  }
}
