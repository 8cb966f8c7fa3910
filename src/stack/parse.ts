/**
 * Reading a stack file into a YAML document with source positions. Refuses what is not a
 * reasonable stack file (not a regular file, too large, binary, nested too deeply, empty) before
 * the YAML parser sees it, and never expands aliases beyond a small budget (billion-laughs
 * documents fail fast).
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { Document, LineCounter, parseDocument, isAlias, isMap, isScalar } from "yaml";
import { InputError } from "../errors.ts";
import { forEachNode } from "./_walk.ts";
import { locateOffset } from "./locate.ts";
import { MAX_NESTING, findExcessNesting } from "./nesting.ts";

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

/**
 * The stack file's text. Opened non-blocking and checked with fstat on the open descriptor, so
 * a FIFO, a device or a directory is refused at once (reading a FIFO would block imgb beyond the
 * reach of SIGTERM) and nothing can be swapped in between the check and the read.
 */
export async function readStackText(file: string): Promise<string> {
  const bytes = readRegularFile(file);
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

function readRegularFile(file: string): Uint8Array {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new InputError("stack.not-found", `Stack file not found: '${file}'`, {
        hint: "pass a stack file with -f FILE, or create imgb.yaml in the current directory",
      });
    }
    throw new InputError("stack.unreadable", `Cannot read stack file '${file}': ${code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputError("stack.is-directory", `Stack file '${file}' is a directory`, { hint: "pass the YAML file itself with -f" });
    if (!st.isFile()) {
      throw new InputError("stack.not-regular", `Stack file '${file}' is not a regular file (it is a ${fileKind(st)})`, {
        hint: "imgb reads stack files only from regular files; save the YAML to a file and pass it with -f",
      });
    }
    if (st.size > MAX_STACK_BYTES) throw tooLarge(file, st.size);
    // Read to the end rather than trusting st.size: the file may grow while we read it.
    const buf = Buffer.allocUnsafe(Math.min(st.size, MAX_STACK_BYTES) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) throw tooLarge(file, n);
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, n);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError("stack.unreadable", `Cannot read stack file '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

function tooLarge(file: string, size: number): InputError {
  const mib = size > MAX_STACK_BYTES ? `${(size / 1048576).toFixed(1)} MiB` : `more than ${MAX_STACK_BYTES / 1048576} MiB`;
  return new InputError("stack.too-large", `Stack file is too large: ${mib} (the limit is ${MAX_STACK_BYTES / 1048576} MiB)`, {
    location: { file },
    hint: "a stack file describes images; large data belongs in the build context",
  });
}

function fileKind(st: Stats): string {
  if (st.isFIFO()) return "FIFO";
  if (st.isCharacterDevice()) return "character device";
  if (st.isBlockDevice()) return "block device";
  if (st.isSocket()) return "socket";
  return "special file";
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
  // Before the parser: its composer recurses per level, so depth must be bounded first.
  const deep = findExcessNesting(text);
  if (deep) {
    lines.addNewLine(0);
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lines.addNewLine(i + 1);
    errors.push(new InputError("yaml.too-deep", `YAML nests too deeply: more than ${MAX_NESTING} levels`, {
      location: locateOffset(lines, file, deep.offset),
      hint: "a stack file needs a few levels; flatten the structure",
    }));
    return undefined;
  }
  // uniqueKeys off: the package compares each new key with every earlier one (quadratic: a 1 MiB
  // mapping took seconds); duplicateKeys does the same check with a set per mapping.
  // merge: YAML 1.1 merge keys (`<<: *common`, `<<: [*a, *b]`), as docker compose files use them.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, merge: true, prettyErrors: false, keepSourceTokens: false, strict: true, customTags: (tags) => [yaml11Octal, ...tags] });
  const duplicates = duplicateKeys(doc, lines, file);
  errors.push(...duplicates);
  const at = new Set<number>();
  for (const e of doc.errors) {
    // The parser may explain one mistake twice at the same place: one line each.
    if (at.has(e.pos[0])) continue;
    at.add(e.pos[0]);
    const loc = locateOffset(lines, file, e.pos[0]);
    errors.push(new InputError(`yaml.${e.code.toLowerCase().replace(/_/g, "-")}`, yamlMessage(e.code, e.message), { location: loc, hint: yamlHint(e.code) }));
  }
  if (doc.errors.length || duplicates.length) return undefined;
  if (doc.contents === null || doc.contents === undefined) {
    errors.push(new InputError("stack.empty", "Stack file is empty", { location: { file, line: 1, col: 1 }, hint: "a stack needs at least 'image_builder:' and 'images:'" }));
    return undefined;
  }
  let aliases = 0;
  let firstExcess: number | undefined;
  let undefinedAlias = false;
  forEachNode(doc, (node) => {
    if (!isAlias(node)) return;
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

/** A key that appears twice in one mapping (scalar keys compared by value, as the package does). */
function duplicateKeys(doc: Document, lines: LineCounter, file: string): InputError[] {
  const out: InputError[] = [];
  forEachNode(doc, (map) => {
    if (!isMap(map)) return;
    const seen = new Set<unknown>();
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      if (!seen.has(pair.key.value)) {
        seen.add(pair.key.value);
        continue;
      }
      out.push(new InputError("yaml.duplicate-key", yamlMessage("DUPLICATE_KEY", ""), {
        location: locateOffset(lines, file, pair.key.range?.[0] ?? 0),
        hint: yamlHint("DUPLICATE_KEY"),
      }));
    }
  });
  return out;
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
  forEachNode(doc, (node) => {
    if (isAlias(node) && at === undefined) at = node.range?.[0];
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
