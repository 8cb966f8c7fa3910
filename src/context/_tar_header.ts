/**
 * ustar header and PAX extended-header encoding (POSIX.1-2001). Pure functions over bytes.
 */
import { stayBelowFTL } from "./_tiers.ts";

export const BLOCK = 512;
/** Largest size an 11-digit octal field holds: 8 GiB - 1. Bigger sizes need a PAX `size`. */
export const MAX_USTAR_SIZE = 0o77777777777;

export type TypeFlag = "0" | "1" | "2" | "5" | "x";

export interface HeaderFields {
  name: string;
  mode: number;
  size: number;
  mtime: number;
  type: TypeFlag;
  linkname?: string;
}

const encoder = new TextEncoder();
const NON_ASCII_OR_NUL = /[^\x01-\x7f]/;
/** ASCII without NUL: what a ustar field can hold verbatim. */
export const isPlain = (s: string) => !NON_ASCII_OR_NUL.test(s);

/** Split `name` into ustar prefix (<=155) and name (<=100) at a `/`, or undefined. */
export function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!isPlain(name)) return undefined;
  if (name.length <= 100) return { prefix: "", name };
  // The name part may keep a trailing slash (directories): search from the right for a `/`
  // such that both parts fit and the name part is not empty.
  for (let i = name.length - 1; i > 0; i--) {
    if (name.charCodeAt(i) !== 0x2f) continue;
    const rest = name.slice(i + 1);
    if (rest.length > 100) break;
    if (i <= 155 && rest !== "" && rest !== "/") return { prefix: name.slice(0, i), name: rest };
  }
  return undefined;
}

/** Whether these fields need a PAX record (the allocation-free test done for every entry). */
export function needsPax(f: HeaderFields): boolean {
  if (f.name.length <= 100 ? !isPlain(f.name) : !splitUstarName(f.name)) return true;
  if (f.linkname !== undefined && (f.linkname.length > 100 || !isPlain(f.linkname))) return true;
  return f.size > MAX_USTAR_SIZE;
}

/** PAX records needed for these fields (empty when a plain ustar header suffices). */
export function paxRecords(f: HeaderFields): Record<string, string> {
  const pax: Record<string, string> = {};
  if (!splitUstarName(f.name)) pax.path = f.name;
  if (f.linkname !== undefined && (f.linkname.length > 100 || !isPlain(f.linkname)))
    pax.linkpath = f.linkname;
  if (f.size > MAX_USTAR_SIZE) pax.size = String(f.size);
  return pax;
}

/** Encode PAX records: each `"<len> <key>=<value>\n"` where len counts the whole record. */
export function encodePax(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const key of Object.keys(records).sort()) {
    const body = ` ${key}=${records[key]}\n`;
    const bodyLen = encoder.encode(body).length;
    let len = bodyLen + 1;
    while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
    text += `${len}${body}`;
  }
  return encoder.encode(text);
}

/** Write a string into a fixed-width field: ASCII fast path (headers are hot: one per file). */
function writeString(block: Uint8Array, offset: number, width: number, value: string): void {
  const n = Math.min(value.length, width);
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x7f) {
      block.set(encoder.encode(value).subarray(0, width), offset);
      return;
    }
    block[offset + i] = c;
  }
}

/** width-1 zero-padded octal digits and a NUL, as GNU tar and Go write them. */
export function writeOctal(block: Uint8Array, offset: number, width: number, value: number): void {
  let v = value;
  for (let i = offset + width - 2; i >= offset; i--) {
    block[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
  block[offset + width - 1] = 0;
}

/**
 * The fields every header shares (owner 0:0, no user/group names, magic, version, device
 * numbers, mtime), prepared once per mtime and copied in: headers are written once per file.
 */
export function template(mtime: number): { block: Uint8Array; sum: number } {
  if (cachedTemplate?.mtime === mtime) return cachedTemplate;
  const block = new Uint8Array(BLOCK);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 136, 12, mtime);
  block.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  writeString(block, 257, 6, "ustar\0");
  writeString(block, 263, 2, "00");
  writeOctal(block, 329, 8, 0);
  writeOctal(block, 337, 8, 0);
  cachedTemplate = { mtime, block, sum: sumOf(block, 0, BLOCK) };
  return cachedTemplate;
}
let cachedTemplate: { mtime: number; block: Uint8Array; sum: number } | undefined;

function sumOf(block: Uint8Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += block[i]!;
  return sum;
}

/**
 * Write one 512-byte ustar header into `block`. Fields that need PAX get a truncated ASCII
 * fallback here; the caller emits the PAX record before this header.
 */
export function writeHeader(block: Uint8Array, f: HeaderFields): void {
  const t = template(f.mtime);
  block.set(t.block);
  // The usual name (short, ASCII) is written as is; only others are split or replaced.
  const split = f.name.length <= 100 && isPlain(f.name) ? undefined : splitUstarName(f.name) ?? { prefix: "", name: asciiFallback(f.name, 100) };
  writeString(block, 0, 100, split ? split.name : f.name);
  writeOctal(block, 100, 8, f.mode);
  writeOctal(block, 124, 12, f.size > MAX_USTAR_SIZE ? 0 : f.size);
  block[156] = f.type.charCodeAt(0);
  if (f.linkname !== undefined) writeString(block, 157, 100, f.linkname.length <= 100 && isPlain(f.linkname) ? f.linkname : asciiFallback(f.linkname, 100));
  if (split && split.prefix !== "") writeString(block, 345, 155, split.prefix);
  // The checksum is the sum of all 512 bytes: the template's (fixed), plus the fields written
  // here, which are zero in the template (the usual header sums ~120 bytes, not 512).
  let sum = t.sum + sumOf(block, 0, 108) + sumOf(block, 124, 136) + block[156]!;
  if (f.linkname !== undefined) sum += sumOf(block, 157, 257);
  if (split && split.prefix !== "") sum += sumOf(block, 345, 500);
  writeOctal(block, 148, 7, sum); // six digits and a NUL; the trailing space stays
  block[155] = 0x20;
}

function asciiFallback(s: string, width: number): string {
  return s.replace(/[^\x01-\x7f]/g, "_").slice(-width);
}

// The per-file loop stays out of the FTL tier (_tiers.ts).
stayBelowFTL(isPlain, splitUstarName, needsPax, writeString, writeOctal, template, sumOf, writeHeader);
