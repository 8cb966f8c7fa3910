/**
 * Names in a one-per-line listing, made unambiguous the way GNU `ls` does for a terminal
 * (`--quoting-style=shell-escape`): a name with a control character (a newline would split it
 * into two "files") is printed as a shell word, `'a'$'\n''b'`, that bash (or zsh, ksh) reads
 * back as the name.
 * So that a quoted line cannot be mistaken for a plain name, a name that itself starts with a
 * quote is quoted too; every other name is printed as it is.
 */
// eslint-disable-next-line no-control-regex
const NEEDS_QUOTING = /[\x00-\x1f\x7f]|^['"]/;

export function quoteListingName(name: string): string {
  if (!NEEDS_QUOTING.test(name)) return name;
  let out = "";
  let plain = "";
  const flush = () => {
    if (plain) out += `'${plain}'`;
    plain = "";
  };
  for (const ch of name) {
    const code = ch.charCodeAt(0);
    if (ch === "'") {
      flush();
      out += "\\'";
    } else if (code < 0x20 || code === 0x7f) {
      flush();
      out += `$'${ESCAPES[ch] ?? `\\${code.toString(8).padStart(3, "0")}`}'`;
    } else plain += ch;
  }
  flush();
  return out;
}

const ESCAPES: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\E", "\x07": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v" };
