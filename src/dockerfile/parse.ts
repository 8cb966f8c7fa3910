/**
 * Dockerfile parser for the `oci` flavor, after BuildKit's `frontend/dockerfile/parser`:
 * parser directives (`# syntax`, `# escape`) at the top only, line continuations with the
 * escape character, comment and blank lines skipped (also inside a continuation), leading
 * `--flag=value` words, JSON (exec) form vs shell form. Every instruction keeps the line it
 * starts on so errors can point at it. No substitution here: that needs the build state. Errors
 * name the line and at most a keyword, never the text of the file (see parseInstruction).
 */
import { InputError } from "../errors.ts";
import { closest } from "../suggest.ts";

/** Where imgb places a Dockerfile that does not live inside the build context (a context path). */
export const EXTRA_DOCKERFILE = ".imgb/Dockerfile";

export interface Instruction {
  /** Upper-case keyword: `COPY`, `FROM`, … */
  keyword: string;
  /** Leading `--name=value` flags (a bare `--name` is "true"). */
  flags: Record<string, string>;
  /** The arguments after the flags, continuation lines joined with nothing (BuildKit does the same). */
  args: string;
  /** Set when the arguments are a JSON array of strings (exec form). */
  json?: string[];
  /** 1-based line of the keyword. */
  line: number;
  /** The instruction as written (continuations joined), for history entries and messages. */
  text: string;
}

export interface Dockerfile {
  file: string;
  escape: "\\" | "`";
  /** The `# syntax=` directive, if any (the oci flavor has one built-in frontend). */
  syntax?: string;
  instructions: Instruction[];
}

/**
 * The name errors give a Dockerfile: the path in the context, except for the copy imgb places at
 * `.imgb/Dockerfile` (a Dockerfile outside the context, or an inline one), which users never
 * wrote: then the file they named, or `dockerfile_inline`.
 */
export function dockerfileName(inContext: string, source: string | undefined): string {
  if (inContext !== EXTRA_DOCKERFILE) return inContext;
  return source ?? "dockerfile_inline";
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;

export function parseDockerfile(text: string, file: string): Dockerfile {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const out: Dockerfile = { file, escape: "\\", instructions: [] };
  let i = 0;
  // Directives: consecutive `# key=value` lines at the very top; anything else ends them.
  const seen = new Set<string>();
  for (; i < lines.length; i++) {
    const m = lines[i]!.match(DIRECTIVE);
    if (!m) break;
    const key = m[1]!.toLowerCase();
    if (seen.has(key)) throw new InputError("dockerfile.directive", `Parser directive '${key}' is set twice`, { location: { file, line: i + 1, col: 1 } });
    seen.add(key);
    if (key === "escape") {
      if (m[2] !== "\\" && m[2] !== "`") throw new InputError("dockerfile.directive", "Invalid escape directive: must be ` or \\", { location: { file, line: i + 1, col: 1 } });
      out.escape = m[2];
    } else if (key === "syntax") out.syntax = m[2];
  }
  const continuation = new RegExp(`${out.escape === "\\" ? "\\\\" : "`"}[ \\t]*$`);
  while (i < lines.length) {
    const start = i;
    const first = lines[i++]!;
    if (isSkippable(first)) continue;
    let joined = first;
    // A line ending in the escape character continues on the next non-comment, non-blank line.
    while (continuation.test(joined)) {
      joined = joined.replace(continuation, "");
      while (i < lines.length && isSkippable(lines[i]!)) i++;
      if (i === lines.length) break;
      joined += lines[i++]!;
    }
    out.instructions.push(parseInstruction(joined.trim(), start + 1, file));
  }
  return out;
}

function isSkippable(line: string): boolean {
  const t = line.trimStart();
  return t === "" || t.startsWith("#");
}

function parseInstruction(text: string, line: number, file: string): Instruction {
  const m = text.match(/^(\S+)\s*([\s\S]*)$/)!;
  const keyword = m[1]!.toUpperCase();
  if (!KEYWORDS.has(keyword)) {
    // Never quote the word: `dockerfile:` may name any file (/etc/passwd, a key file), and an
    // error message must not become a way to print its first line.
    const guess = closest(keyword, KEYWORDS);
    throw new InputError("dockerfile.unknown-instruction", `Unknown instruction on line ${line}: not a Dockerfile keyword`, {
      location: { file, line, col: 1 },
      hint: guess ? `did you mean ${guess}?` : "is 'dockerfile' pointing at a Dockerfile?",
    });
  }
  let rest = m[2]!;
  const flags: Record<string, string> = {};
  // Flags only where BuildKit accepts them; elsewhere `--x` is an argument (e.g. CMD --help).
  if (FLAG_INSTRUCTIONS.has(keyword)) {
    for (;;) {
      const f = rest.match(/^--([a-zA-Z][a-zA-Z0-9-]*)(?:=(\S*))?(?:\s+|$)/);
      if (!f) break;
      flags[f[1]!.toLowerCase()] = f[2] ?? "true";
      rest = rest.slice(f[0].length);
    }
  }
  const instruction: Instruction = { keyword, flags, args: rest.trim(), line, text };
  if (rest.trimStart().startsWith("[") && JSON_FORM.has(keyword)) {
    try {
      const parsed: unknown = JSON.parse(rest);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) instruction.json = parsed;
    } catch {
      // Not JSON: BuildKit falls back to the shell form, so do we.
    }
  }
  if (/(^|\s)<<-?["']?[A-Za-z_]/.test(rest) && (keyword === "COPY" || keyword === "ADD" || keyword === "RUN")) {
    throw new InputError("dockerfile.heredoc", `Heredocs are not supported by the 'oci' flavor (in ${keyword})`, {
      location: { file, line, col: 1 },
      hint: "put the content in a file of the build context and COPY it",
    });
  }
  return instruction;
}

/** BuildKit's instructions (`frontend/dockerfile/command`); anything else is not a Dockerfile line. */
const KEYWORDS = new Set(["ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"]);
const FLAG_INSTRUCTIONS = new Set(["FROM", "COPY", "ADD", "RUN", "HEALTHCHECK"]);
const JSON_FORM = new Set(["CMD", "ENTRYPOINT", "RUN", "SHELL", "COPY", "ADD", "VOLUME", "HEALTHCHECK"]);
