/**
 * Is this text a Dockerfile at all? Checked when a stack is loaded, before any engine sees the
 * file: an engine's parse error quotes the offending line ("unknown instruction: ROOT:X:0:0:…"),
 * so `dockerfile: /etc/passwd` would print the file's first line. Every Dockerfile's first
 * instruction is FROM or ARG (BuildKit refuses anything else before FROM), which tells a
 * Dockerfile from an arbitrary file without judging the rest: later lines, heredocs and new
 * instructions stay the engine's business. A `# syntax=` frontend may define its own language,
 * so such a file is not judged at all.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.ts";
import { toPointer } from "./locate.ts";
import type { ResolvedStack } from "./model.ts";
import type { Locator } from "./schema_errors.ts";

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
/** The first instruction lies in the first few KiB of any real Dockerfile. */
const PREFIX_BYTES = 64 * 1024;

/** The 1-based line of a first instruction that is not FROM or ARG; undefined when the start is fine or unknown. */
export function badFirstInstruction(text: string): number | undefined {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  let i = 0;
  for (; i < lines.length; i++) {
    const m = lines[i]!.match(DIRECTIVE);
    if (!m) break;
    if (m[1]!.toLowerCase() === "syntax") return undefined;
  }
  for (; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === "" || t.startsWith("#")) continue;
    const word = t.split(/\s/, 1)[0]!.toUpperCase();
    return word === "FROM" || word === "ARG" ? undefined : i + 1;
  }
  return undefined;
}

/**
 * The start of a regular file, read without blocking (a FIFO or device yields undefined: the
 * stack's own checks report those paths).
 */
export function readDockerfileStart(path: string): string | undefined {
  return readPlainFile(path, PREFIX_BYTES, true);
}

/**
 * The text of a regular file of at most `limit` bytes (its first `limit` bytes when `prefix`);
 * undefined for anything else, or when it cannot be read. Never blocks: a FIFO is not read.
 */
export function readPlainFile(path: string, limit: number, prefix = false): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || (!prefix && st.size > limit)) return undefined;
    const buf = Buffer.alloc(prefix ? limit : st.size);
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    // A cut inside the last line or a multi-byte character only affects that line.
    return buf.subarray(0, n).toString("utf8");
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * One error per image whose Dockerfile (on disk or inline) does not start like one, at the key
 * that names it. Dockerfiles the stack itself supplies as extra files are not on disk yet.
 */
export function checkDockerfileStarts(stack: ResolvedStack, at: Locator): InputError[] {
  const errors: InputError[] = [];
  for (const image of Object.values(stack.images)) {
    const inline = image.dockerfileInline !== undefined;
    const path = image.dockerfile;
    if (!inline && (path === undefined || (image.context !== undefined && image.extraFiles.some((x) => join(image.context!, x.destination) === path)))) continue;
    const text = inline ? image.dockerfileInline : readDockerfileStart(path!);
    if (text === undefined) continue;
    const line = badFirstInstruction(text);
    if (line === undefined) continue;
    const what = inline ? "'dockerfile_inline'" : `'${path}'`;
    // Name the file and the line, never quote it: it may be any file the stack points at.
    errors.push(new InputError("stack.not-a-dockerfile", `${what} is not a Dockerfile: line ${line} is not FROM or ARG, which every Dockerfile starts with`, {
      location: at(toPointer(["images", image.name, inline ? "dockerfile_inline" : "dockerfile"]), false),
      hint: inline ? "start it with FROM (or ARG, then FROM)" : "is 'dockerfile' pointing at the right file? Paths are relative to the context",
    }));
  }
  return errors;
}
