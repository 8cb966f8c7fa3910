/**
 * Environment interpolation in stack file strings, compose-style:
 *   ${VAR}            value of VAR; an error when VAR is unset
 *   ${VAR:-default}   default when VAR is unset or empty
 *   ${VAR-default}    default when VAR is unset
 *   ${VAR:?message}   error with message when VAR is unset or empty
 *   $${…}  and  $$    a literal `${…}` / `$`
 * References to other images of the stack (`${images.NAME.ref}`) are kept as they are: they are
 * resolved at build time, once the image they name has been built. So are matrix variables
 * (`${matrix.NAME}`): expand.ts replaces them per variant of a `matrix:` image.
 */

export interface InterpolationProblem {
  /** Offset of the `$` in the input string. */
  offset: number;
  message: string;
  hint?: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IMAGE_REF = /^images\.[^}\s]+$/;
const MATRIX_REF = /^matrix\.[A-Za-z_][A-Za-z0-9_]*$/;

/** A `${images.…}` reference kept as it is, with the offset of its `$`. */
export interface KeptImageRef {
  offset: number;
  text: string;
}

export function interpolate(
  input: string,
  env: Record<string, string | undefined>,
  problems: InterpolationProblem[],
  /** Receives every image reference kept, so the caller can tell where they are allowed. */
  imageRefs?: KeptImageRef[],
): string {
  if (!input.includes("$")) return input;
  let out = "";
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch !== "$") {
      out += ch;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
      continue;
    }
    if (next !== "{") {
      out += "$";
      i++;
      continue;
    }
    const close = findClose(input, i + 2);
    if (close < 0) {
      problems.push({ offset: i, message: "Unterminated variable reference: missing '}'", hint: "write $$ for a literal '$'" });
      return out + input.slice(i);
    }
    const body = input.slice(i + 2, close);
    if (IMAGE_REF.test(body)) {
      out += input.slice(i, close + 1);
      imageRefs?.push({ offset: i, text: input.slice(i, close + 1) });
    } else if (MATRIX_REF.test(body)) {
      out += input.slice(i, close + 1);
    } else {
      out += expand(body, env, i, problems);
    }
    i = close + 1;
  }
  return out;
}

/** Finds the `}` closing a reference, allowing nested `${…}` inside a default value. */
function findClose(s: string, from: number): number {
  let depth = 0;
  for (let j = from; j < s.length; j++) {
    if (s[j] === "$" && s[j + 1] === "{") {
      depth++;
      j++;
    } else if (s[j] === "}") {
      if (depth === 0) return j;
      depth--;
    }
  }
  return -1;
}

function expand(body: string, env: Record<string, string | undefined>, offset: number, problems: InterpolationProblem[]): string {
  const m = /^([^:?\-}]*)(?:(:?[-?])([\s\S]*))?$/.exec(body);
  const name = m?.[1] ?? body;
  if (!NAME.test(name)) {
    problems.push({
      offset,
      message: `Invalid variable name '${name}' in '\${${body}}'`,
      hint: "names are letters, digits and '_'; write $${ for a literal '${'",
    });
    return "";
  }
  const op = m?.[2];
  const arg = interpolate(m?.[3] ?? "", env, problems);
  const value = env[name];
  switch (op) {
    case undefined:
      if (value === undefined) {
        problems.push({
          offset,
          message: `Environment variable '${name}' is not set`,
          hint: `set it, or give a default: \${${name}:-default}`,
        });
        return "";
      }
      return value;
    case ":-":
      return value === undefined || value === "" ? arg : value;
    case "-":
      return value === undefined ? arg : value;
    case ":?":
    case "?":
      if (value === undefined || (op === ":?" && value === "")) {
        problems.push({ offset, message: `Environment variable '${name}' is required${arg ? `: ${arg}` : ""}` });
        return "";
      }
      return value;
    default:
      return value ?? "";
  }
}
