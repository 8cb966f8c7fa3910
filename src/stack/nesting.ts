/**
 * How deeply a YAML text nests, measured before the `yaml` package builds a document from it.
 * Its composer recurses once per level and slows down with depth (5,000 nested flow mappings
 * took 40 s; 20,000 `[` overflowed the stack), so a stack file deeper than any real one is
 * refused up front with the position where it crosses the limit.
 *
 * The count uses the package's own lexer, which is linear and does not recurse, so quotes,
 * comments and block scalars (a `dockerfile_inline` full of `[`) are told apart exactly as the
 * parser will. Depth = open flow collections (`[`, `{`) + block levels, where a block level is
 * an indentation deeper than the enclosing one or a nested `- ` / `? ` entry on the same line.
 */
import { Lexer } from "yaml";

/** Far beyond any stack file (images/NAME/extra_files/PATH/source is 5), far below trouble. */
export const MAX_NESTING = 64;

export interface TooDeep {
  /** 0-based offset of the token that opens level MAX_NESTING + 1. */
  offset: number;
  depth: number;
}

/** The first place where `text` nests deeper than `max` levels, or undefined when it does not. */
export function findExcessNesting(text: string, max = MAX_NESTING): TooDeep | undefined {
  // Most files are nowhere near: a bound from one pass over the characters says so without the
  // lexer (whose first run in a process costs more than the rest of a small file's checks).
  return depthBound(text) <= max ? undefined : lexedExcess(text, max);
}

/**
 * An upper bound of the depth `lexedExcess` counts: every flow level opens with a `[` or `{`
 * somewhere in the text, and the block levels open on one line are distinct columns up to the
 * line's indentation (one each), plus one per `-` or `?` on it (compact entries), plus one for
 * the content. Quotes, comments and block scalars only make it larger, never smaller.
 */
export function depthBound(text: string): number {
  let flows = 0;
  let worst = 0;
  const n = text.length;
  for (let i = 0; i < n; ) {
    let indent = 0;
    while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) {
      indent++;
      i++;
    }
    let marks = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) {
        i++;
        break;
      }
      if (c === 91 || c === 123) flows++; // [ {
      else if (c === 45 || c === 63) marks++; // - ?
    }
    // +2: the content's own level, and a byte-order mark before the first line's first token.
    worst = Math.max(worst, indent + marks + 2);
  }
  return flows + worst;
}

/** The exact count, with the `yaml` package's lexer. */
export function lexedExcess(text: string, max = MAX_NESTING): TooDeep | undefined {
  let offset = 0;
  let col = 0;
  let flow = 0;
  /** Columns of the open block levels, innermost last. */
  const blocks: number[] = [];
  let lineStart = true;
  /** A `- ` or `? ` indicator was just seen: the next content on this line opens a level. */
  let compact = false;
  /** After a `|` / `>` header: the next content token is the scalar's body, not structure. */
  let scalarHeader = false;
  let scalarBody = false;
  for (const token of new Lexer().lex(text)) {
    const at = offset;
    const startCol = col;
    offset += token.length;
    if (isControl(token)) {
      offset -= token.length; // lexer markers take no room in the source
      continue;
    }
    const nl = token.lastIndexOf("\n");
    col = nl >= 0 ? token.length - nl - 1 : col + token.length;

    if (token === "\n" || token === "\r\n") {
      lineStart = true;
      compact = false;
      scalarBody = scalarHeader;
      scalarHeader = false;
      continue;
    }
    if (/^[ \t]+$/.test(token) || token.startsWith("#") || token === "\uFEFF") continue;
    if (scalarBody) {
      scalarBody = false;
      lineStart = token === "" || token.endsWith("\n");
      continue;
    }

    // On a line's first token, or on a nested `- `/`? ` entry after one (`- - x`); a scalar or
    // a flow collection after `- ` is the entry itself, already counted.
    if (flow === 0 && (lineStart || (compact && (token === "-" || token === "?")))) {
      if (lineStart) while (blocks.length && blocks[blocks.length - 1]! > startCol) blocks.pop();
      if (!blocks.length || blocks[blocks.length - 1]! < startCol) blocks.push(startCol);
      if (blocks.length + flow > max) return { offset: at, depth: blocks.length + flow };
    }
    lineStart = false;
    compact = flow === 0 && (token === "-" || token === "?");
    if (flow === 0 && /^[|>]/.test(token)) scalarHeader = true;

    if (token === "[" || token === "{") {
      flow++;
      if (blocks.length + flow > max) return { offset: at, depth: blocks.length + flow };
    } else if ((token === "]" || token === "}") && flow > 0) {
      flow--;
    }
  }
  return undefined;
}

/** The lexer's in-band markers (document start, flow error end, scalar start): not source text. */
function isControl(token: string): boolean {
  return token === "\x02" || token === "\x18" || token === "\x1f";
}
