/**
 * .dockerignore files, read and matched with Docker's semantics: moby/patternmatcher's
 * `ignorefile.ReadAll` + `patternmatcher.New` for reading, `MatchesUsingParentResults` for
 * matching, and tonistiigi/fsutil's filter walk for deciding which excluded directories must
 * still be entered. ignore.test.ts pins the rules; test/context/dockerignore_vs_docker.test.ts
 * checks them against what a real Docker daemon sends.
 *
 * Two dialects, because Docker changed behaviour: "buildkit" (default) is current Docker
 * (Engine 23+, buildx): moby/patternmatcher and today's fsutil filter. "legacy" is Docker
 * 20.10's BuildKit client (docker/docker pkg/fileutils, fsutil 2020): only `.` and `$` escaped
 * in patterns, a rule matches a parent only at the depth of its own segment count, and an
 * excluded directory is entered (and sent, even if empty) only when an exception's text starts
 * with it. The dialects agree on ordinary files; see ignore.test.ts for where they differ.
 */
import { InputError } from "../errors.ts";
import { Pattern, type IgnoreDialect } from "./_pattern.ts";
import { stayBelowFTL } from "./_tiers.ts";

export type { IgnoreDialect } from "./_pattern.ts";

/** A parsed ignore rule with the 1-based line it came from. */
export interface IgnoreRule {
  pattern: Pattern;
  line: number;
}

/** Per-pattern "did a parent directory match" state, carried down a directory walk. */
export type MatchInfo = readonly boolean[];

/** Go's `strings.TrimSpace` (Unicode White_Space; unlike String#trim it keeps U+FEFF). */
const GO_SPACE = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const TRIM = new RegExp(`^${GO_SPACE}+|${GO_SPACE}+$`, "gu");
const goTrim = (s: string) => s.replace(TRIM, "");

/** Go's `path.Clean` for slash-separated paths. */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
    } else out.push(seg);
  }
  const joined = out.join("/");
  return rooted ? `/${joined}` : joined || ".";
}

/** Characters that make an exception pattern a wildcard for fsutil's directory-skip shortcut. */
const PATTERN_CHARS = /[*[\]?^\\]/;

export class IgnoreMatcher {
  readonly rules: readonly IgnoreRule[];
  readonly dialect: IgnoreDialect;
  /** Whether any rule is an exception (`!pattern`). */
  readonly hasExclusions: boolean;
  /** fsutil's `onlyPrefixExcludeExceptions`: no exception contains a wildcard. */
  private readonly onlyPrefixExceptions: boolean;

  constructor(rules: readonly IgnoreRule[], dialect: IgnoreDialect = "buildkit") {
    this.rules = rules;
    this.dialect = dialect;
    const exceptions = rules.filter((r) => r.pattern.exclusion);
    this.hasExclusions = exceptions.length > 0;
    this.onlyPrefixExceptions = dialect === "legacy" || !exceptions.some((r) => PATTERN_CHARS.test(withoutTrailingGlob(r.pattern.text)));
  }

  /**
   * Parse ignore-file text. `file` is used only for error locations.
   * @throws InputError with file and line for an invalid pattern.
   */
  static parse(text: string, file?: string, dialect: IgnoreDialect = "buildkit"): IgnoreMatcher {
    const rules: IgnoreRule[] = [];
    const lines = text.split("\n");
    lines.forEach((raw, index) => {
      let line = raw.endsWith("\r") ? raw.slice(0, -1) : raw; // bufio.ScanLines drops one \r
      if (index === 0 && line.startsWith("\ufeff")) line = line.slice(1);
      if (line.startsWith("#")) return;
      let p = goTrim(line);
      if (p === "") return;
      const invert = p.startsWith("!");
      if (invert) p = goTrim(p.slice(1));
      if (p.length > 0) {
        p = cleanPath(p);
        if (p.length > 1 && p.startsWith("/")) p = p.slice(1);
      }
      // patternmatcher.New cleans the whole string again, `!` included ("!/" becomes "!").
      const full = cleanPath(goTrim(invert ? `!${p}` : p));
      const where = { file, line: index + 1 };
      if (full === "!") {
        throw new InputError("context.ignore-pattern", `Invalid ignore pattern "${line.trim()}": "!" alone excludes nothing`, {
          location: where,
          hint: "Write the path to re-include after the \"!\", e.g. \"!docs/README.md\"",
        });
      }
      const exclusion = full.startsWith("!");
      try {
        rules.push({ pattern: new Pattern(exclusion ? full.slice(1) : full, exclusion, dialect), line: index + 1 });
      } catch (e) {
        throw new InputError("context.ignore-pattern", `Invalid ignore pattern "${line.trim()}": ${(e as Error).message}`, {
          location: where,
          hint: "Escape a literal \"[\", \"]\" or \"\\\" with a backslash",
        });
      }
    });
    return new IgnoreMatcher(rules, dialect);
  }

  /** Read and parse an ignore file from disk. */
  static async load(path: string, dialect: IgnoreDialect = "buildkit"): Promise<IgnoreMatcher> {
    return IgnoreMatcher.parse(await Bun.file(path).text(), path, dialect);
  }

  /**
   * Whether `path` (POSIX, relative, clean) is excluded, looking at the path and each of its
   * parent directories (patternmatcher's `MatchesOrParentMatches`). The last matching rule wins.
   */
  matches(path: string): boolean {
    return this.matchWithParents(path, undefined).excluded;
  }

  /**
   * The walk-time variant (`MatchesUsingParentResults`): `parent` is the info returned for the
   * parent directory (undefined at the top level). Returns whether `path` is excluded and the
   * info to pass for its children.
   */
  matchWithParents(path: string, parent: MatchInfo | undefined): { excluded: boolean; info: MatchInfo } {
    if (this.dialect === "legacy") return { excluded: this.legacyMatches(path), info: [] };
    let excluded = false;
    const info: boolean[] = new Array(this.rules.length).fill(false);
    const slash = path.lastIndexOf("/");
    this.rules.forEach(({ pattern }, i) => {
      let match = parent?.[i] ?? false;
      if (!match) {
        // Skip inclusions once excluded and exceptions until excluded: they cannot change it.
        if (pattern.exclusion !== excluded) return;
        match = pattern.match(path);
        if (!match && parent === undefined && slash > 0) {
          const dirs = path.slice(0, slash).split("/");
          for (let n = 1; n <= dirs.length && !match; n++) match = pattern.match(dirs.slice(0, n).join("/"));
        }
      }
      info[i] = match;
      if (match) excluded = !pattern.exclusion;
    });
    return { excluded, info };
  }

  /** Docker 20.10's `Matches`: only the parent prefix with as many segments as the rule. */
  private legacyMatches(path: string): boolean {
    const slash = path.lastIndexOf("/");
    const dirs = slash > 0 ? path.slice(0, slash).split("/") : [];
    let excluded = false;
    for (const { pattern } of this.rules) {
      let match = pattern.match(path);
      if (!match && dirs.length > 0 && pattern.segments <= dirs.length) match = pattern.match(dirs.slice(0, pattern.segments).join("/"));
      if (match) excluded = !pattern.exclusion;
    }
    return excluded;
  }

  /**
   * fsutil's shortcut for an excluded directory: true when no exception rule could re-include
   * anything below `dir`, so the walk need not enter it. Any exception with a wildcard forces
   * the walk in.
   */
  canSkipDirectory(dir: string): boolean {
    if (!this.onlyPrefixExceptions) return false;
    if (!this.hasExclusions) return true;
    const dirSlash = `${dir}/`;
    const text = (t: string) => (this.dialect === "legacy" ? t : withoutTrailingGlob(t));
    return !this.rules.some((r) => r.pattern.exclusion && `${text(r.pattern.text)}/`.startsWith(dirSlash));
  }
}

function withoutTrailingGlob(text: string): string {
  let s = text;
  if (s.endsWith("/**")) s = s.slice(0, -3);
  if (s.endsWith("/*")) s = s.slice(0, -2);
  return s;
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(IgnoreMatcher, cleanPath);
