/**
 * Variable substitution and word splitting as BuildKit's `frontend/dockerfile/shell` lexer does
 * them: `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`, `${VAR:?msg}`,
 * single quotes (literal), double quotes (only `"`, `$` and the escape character can be escaped
 * inside), the escape character outside quotes makes the next character literal. An unset
 * variable expands to "". Throws `WordError` (the caller adds the Dockerfile location); its
 * messages never quote the statement, which may be a line of any file a stack points at.
 */

export class WordError extends Error {}

export type Env = ReadonlyMap<string, string>;

export function processWord(word: string, env: Env, escape = "\\"): string {
  const s = new Scanner(word, escape, env);
  return s.until(undefined);
}

/**
 * Split `KEY=value KEY2="a b"` into words on unquoted whitespace, keeping quotes and escapes
 * (they are removed later by `processWord`), like BuildKit's `parseWords`.
 */
export function splitWords(text: string, escape = "\\"): string[] {
  const words: string[] = [];
  let word = "";
  let quote = "";
  let escaped = false;
  for (const ch of text) {
    if (escaped) {
      word += ch;
      escaped = false;
    } else if (ch === escape) {
      word += ch;
      escaped = true;
    } else if (quote) {
      if (ch === quote) quote = "";
      word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word += ch;
    } else if (/\s/.test(ch)) {
      if (word !== "") words.push(word);
      word = "";
    } else word += ch;
  }
  if (word !== "") words.push(word);
  return words;
}

class Scanner {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly escape: string,
    private readonly env: Env,
  ) {}

  /** Process until `stop` (not consumed) or the end. */
  until(stop: string | undefined): string {
    let out = "";
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos]!;
      if (ch === stop) return out;
      if (ch === "'") out += this.single();
      else if (ch === '"') out += this.double();
      else if (ch === "$") out += this.dollar();
      else if (ch === this.escape) {
        this.pos++;
        // A trailing escape character is dropped, as BuildKit does.
        if (this.pos < this.text.length) out += this.text[this.pos++];
      } else {
        out += ch;
        this.pos++;
      }
    }
    if (stop !== undefined) throw new WordError(`missing '${stop}'`);
    return out;
  }

  private single(): string {
    const end = this.text.indexOf("'", this.pos + 1);
    if (end < 0) throw new WordError("unexpected end of statement while looking for matching single-quote");
    const out = this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return out;
  }

  private double(): string {
    this.pos++;
    let out = "";
    for (;;) {
      if (this.pos >= this.text.length) throw new WordError("unexpected end of statement while looking for matching double-quote");
      const ch = this.text[this.pos]!;
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === "$") {
        out += this.dollar();
        continue;
      }
      this.pos++;
      if (ch === this.escape) {
        const next = this.text[this.pos];
        if (next === undefined) continue;
        if (next === '"' || next === "$" || next === this.escape) {
          out += next;
          this.pos++;
          continue;
        }
      }
      out += ch;
    }
  }

  private dollar(): string {
    this.pos++; // the `$`
    const next = this.text[this.pos];
    if (next === "{") {
      this.pos++;
      const name = this.name();
      if (name === "") throw new WordError("bad substitution: missing variable name after '${'");
      const op = this.text[this.pos];
      if (op === undefined) throw new WordError("missing '}'");
      if (op === "}") {
        this.pos++;
        return this.env.get(name) ?? "";
      }
      let colon = false;
      if (op === ":") {
        colon = true;
        this.pos++;
      }
      const modifier = this.text[this.pos++];
      if (modifier !== "-" && modifier !== "+" && modifier !== "?") {
        throw new WordError(`unsupported modifier ${JSON.stringify((colon ? ":" : "") + (modifier ?? ""))} in \${${name}...}: use :-, -, :+, +, :? or ?`);
      }
      const word = this.until("}");
      this.pos++;
      const value = this.env.get(name);
      const set = colon ? value !== undefined && value !== "" : value !== undefined;
      if (modifier === "-") return set ? value! : word;
      if (modifier === "+") return set ? word : "";
      if (!set) throw new WordError(`${name}: ${word || "is not allowed to be unset"}`);
      return value!;
    }
    const name = this.name();
    // `$` not followed by a name is a literal dollar sign.
    if (name === "") return "$";
    return this.env.get(name) ?? "";
  }

  private name(): string {
    const m = this.text.slice(this.pos).match(/^(?:[A-Za-z_][A-Za-z0-9_]*|[0-9])/);
    if (!m) return "";
    this.pos += m[0].length;
    return m[0];
  }
}
