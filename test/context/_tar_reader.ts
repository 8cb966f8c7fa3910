/**
 * A minimal tar reader for tests (ustar + PAX path/linkpath/size), independent of the writer
 * under test: used to list what Docker's BuildKit exported and to inspect our headers.
 */
export interface TarItem {
  name: string;
  type: string;
  mode: number;
  size: number;
  linkname: string;
  mtime: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Content, when `withData` was asked. */
  data?: Uint8Array;
}

const dec = new TextDecoder();
const str = (b: Uint8Array, off: number, len: number) => {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return dec.decode(nul === -1 ? s : s.subarray(0, nul));
};
const oct = (b: Uint8Array, off: number, len: number) => parseInt(str(b, off, len).trim() || "0", 8);

export function readTar(buf: Uint8Array, withData = false): TarItem[] {
  const items: TarItem[] = [];
  let pax: Record<string, string> = {};
  for (let off = 0; off + 512 <= buf.length; ) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== oct(h, 148, 8)) throw new Error(`bad header checksum at offset ${off}`);
    const type = String.fromCharCode(h[156]!);
    let size = oct(h, 124, 12);
    if (pax.size) size = Number(pax.size);
    const body = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      pax = {};
      let text = dec.decode(body);
      while (text.length > 0) {
        const sp = text.indexOf(" ");
        const len = Number(text.slice(0, sp));
        const rec = new TextDecoder().decode(new TextEncoder().encode(text).subarray(0, len));
        const kv = rec.slice(sp + 1, -1);
        const eq = kv.indexOf("=");
        pax[kv.slice(0, eq)] = kv.slice(eq + 1);
        text = new TextDecoder().decode(new TextEncoder().encode(text).subarray(len));
      }
      continue;
    }
    const prefix = str(h, 345, 155);
    const name = pax.path ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const item: TarItem = {
      name,
      type,
      mode: oct(h, 100, 8),
      size,
      linkname: pax.linkpath ?? str(h, 157, 100),
      mtime: oct(h, 136, 12),
      uid: oct(h, 108, 8),
      gid: oct(h, 116, 8),
      uname: str(h, 265, 32),
      gname: str(h, 297, 32),
    };
    if (withData) item.data = body.slice();
    items.push(item);
    pax = {};
  }
  return items;
}
