/**
 * The fenced code blocks of a Markdown file, for tests that run documentation as written: a
 * block is a file (```LANG file=PATH), commands (```sh) or expected output (```text).
 */
export interface DocBlock {
  lang: string;
  /** `file=PATH` on the fence, else undefined. */
  file?: string;
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function docBlocks(markdown: string): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`unclosed code block at line ${start + 1}`);
    const file = /\bfile=(\S+)/.exec(open[2]!)?.[1];
    blocks.push({ lang: open[1]!, ...(file ? { file } : {}), body: body.join("\n") + "\n", line: start + 1 });
  }
  return blocks;
}
