/**
 * One .dockerignore pattern, compiled the way moby/patternmatcher does it (patternmatcher.go,
 * `Pattern.compile`): a pattern is classified as an exact, prefix (`x/**`), suffix (`**\/x`) or
 * regexp match, and the regexp is built from Go's own translation rules. We reproduce that
 * translation (quirks included, e.g. `**foo` also matching `xfoo` through the suffix fast path)
 * because the point is to send exactly the files Docker would send.
 *
 * The "legacy" dialect is the older docker/docker `pkg/fileutils` compile used by Docker 20.10
 * (and its BuildKit client): always a regexp, and only `.` and `$` escaped, so `+ ( ) | { } ^`
 * keep their regexp meaning (`a+` matches `aa`).
 */

/** "buildkit": moby/patternmatcher (Docker 23+, buildx). "legacy": Docker 20.10's pkg/fileutils. */
import type { IgnoreDialect } from "../builder/build_context.ts";
import { stayBelowFTL } from "./_tiers.ts";

export type { IgnoreDialect };

type MatchType = "exact" | "prefix" | "suffix" | "regexp";

/** Characters patternmatcher escapes before handing the string to Go's regexp package. */
const GO_ESCAPED = new Set([".", "+", "(", ")", "|", "{", "}", "$"]);
const GO_ESCAPED_LEGACY = new Set([".", "$"]);

export class Pattern {
  readonly exclusion: boolean;
  /** The cleaned pattern without its `!`, as Docker's `Pattern.String()` returns it. */
  readonly text: string;
  /** Number of path segments (legacy parent matching compares that many leading segments). */
  readonly segments: number;
  private readonly type: MatchType;
  private readonly regexp?: RegExp;

  /** @throws Error with a short reason when the pattern is invalid (the caller adds the location). */
  constructor(text: string, exclusion: boolean, dialect: IgnoreDialect = "buildkit") {
    this.text = text;
    this.exclusion = exclusion;
    this.segments = text.split("/").length;
    checkGlobSyntax(text);
    const { type, source } = translate(text, dialect);
    this.type = type;
    if (type === "regexp") {
      try {
        this.regexp = new RegExp(goRegexpToJs(source), "u");
      } catch (e) {
        throw new Error(`unsupported pattern syntax: ${(e as Error).message}`);
      }
    }
  }

  match(path: string): boolean {
    switch (this.type) {
      case "exact":
        return path === this.text;
      case "prefix":
        return path.startsWith(this.text.slice(0, -2));
      case "suffix": {
        const suffix = this.text.slice(2);
        return path.endsWith(suffix) || (suffix[0] === "/" && path === suffix.slice(1));
      }
      case "regexp":
        return this.regexp!.test(path);
    }
  }
}

/** patternmatcher's `compile`: returns the match type and, for regexps, Go regexp source. */
function translate(pattern: string, dialect: IgnoreDialect): { type: MatchType; source: string } {
  const escaped = dialect === "legacy" ? GO_ESCAPED_LEGACY : GO_ESCAPED;
  const runes = Array.from(pattern);
  let re = "^";
  let type: MatchType = "exact";
  for (let i = 0, k = 0; k < runes.length; i++) {
    const ch = runes[k++]!;
    if (ch === "*") {
      if (runes[k] === "*") {
        k++;
        if (runes[k] === "/") k++; // `**/` is treated as `**`
        if (k >= runes.length) {
          if (type === "exact" && dialect === "buildkit") type = "prefix";
          else {
            re += ".*";
            type = "regexp";
          }
        } else {
          re += "(.*/)?";
          type = "regexp";
        }
        if (i === 0) type = "suffix";
      } else {
        re += "[^/]*";
        type = "regexp";
      }
    } else if (ch === "?") {
      re += "[^/]";
      type = "regexp";
    } else if (escaped.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === "\\") {
      if (k < runes.length) {
        re += `\\${runes[k++]}`;
        type = "regexp";
      } else re += "\\";
    } else if (ch === "[" || ch === "]") {
      re += ch;
      type = "regexp";
    } else re += ch;
  }
  // The legacy compile has no fast paths: everything is a regexp.
  return { type: dialect === "legacy" ? "regexp" : type, source: `${re}$` };
}

/**
 * Go's RE2 and JavaScript disagree on a few spellings: a lone `]` is a literal in RE2 but a
 * syntax error in JS `u` mode, `.` excludes only `\n` in RE2, and an escaped ordinary character
 * (`\-`) is an identity escape in RE2 but an error in JS. Rewrite those; reject escapes whose
 * meaning differs (`\a`, `\z`…) rather than guess.
 */
function goRegexpToJs(source: string): string {
  const chars = Array.from(source);
  let out = "";
  let inClass = false;
  let classStart = false;
  for (let k = 0; k < chars.length; k++) {
    const ch = chars[k]!;
    const first = classStart;
    classStart = false;
    if (ch === "\\") {
      const next = chars[++k];
      if (next === undefined) throw new Error("trailing backslash");
      if (/[A-Za-z0-9]/.test(next)) {
        if (!/[dDsSwW]/.test(next)) throw new Error(`escape "\\${next}"`);
        out += `\\${next}`;
      } else if (/[\^$\\.*+?()[\]{}|/]/.test(next) || (inClass && next === "-")) out += `\\${next}`;
      else out += next;
    } else if (inClass) {
      if (ch === "]" && !first) inClass = false;
      if (ch === "[") out += "\\[";
      else out += ch;
      if (ch === "^" && first) classStart = true; // `[^]...`: a `]` right after `^` is literal too
    } else if (ch === "[") {
      inClass = true;
      classStart = true;
      out += ch;
    } else if (ch === "]") out += "\\]";
    else if (ch === "{" && !/^\{\d+(,\d*)?\}/.test(chars.slice(k, k + 24).join(""))) out += "\\{"; // RE2: literal unless a repeat
    else if (ch === "}" && !/\{\d+(,\d*)?$/.test(out)) out += "\\}";
    else if (ch === ".") out += "[^\\n]";
    else out += ch;
  }
  return out;
}

/**
 * The syntax check Docker runs through `filepath.Match(p, ".")`: unclosed or empty classes,
 * a class item starting with `-` or `]`, and a trailing `\` are errors.
 */
function checkGlobSyntax(p: string): void {
  const r = Array.from(p);
  const esc = (k: number): number => {
    const c = r[k];
    if (c === undefined) throw new Error("unclosed character class");
    if (c === "-" || c === "]") throw new Error(`character class item cannot start with "${c}"`);
    if (c === "\\") {
      if (r[k + 1] === undefined) throw new Error("trailing backslash in character class");
      return k + 2;
    }
    return k + 1;
  };
  for (let k = 0; k < r.length; ) {
    const c = r[k];
    if (c === "\\") {
      if (k + 1 >= r.length) throw new Error("trailing backslash");
      k += 2;
    } else if (c === "[") {
      k++;
      if (r[k] === "^") k++;
      for (let n = 0; ; n++) {
        if (r[k] === "]" && n > 0) {
          k++;
          break;
        }
        k = esc(k);
        if (r[k] === "-") k = esc(k + 1);
        if (k >= r.length) throw new Error("unclosed character class");
      }
    } else k++;
  }
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(Pattern);
