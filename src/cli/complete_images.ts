/**
 * `imgb __complete images [-f FILE]`: the image names of a stack, one per line, for the shell
 * completion scripts (`imgb completion SHELL`). Quiet by design: the stack is only parsed (not
 * validated, so a file being edited still completes), and any problem prints nothing.
 */
import { resolve } from "node:path";
import { parseStack, readStackText, toValue } from "../stack/parse.ts";
import { DEFAULT_STACK_FILE } from "../stack/load.ts";
import { defineCommand, fileOption } from "./command.ts";

export default defineCommand({
  name: "__complete images",
  hidden: true,
  summary: "Print the image names of a stack file, for shell completion",
  usage: "__complete images [-f FILE]",
  examples: ["imgb __complete images -f deploy/imgb.yaml"],
  options: { file: fileOption.file },
  async run(args, io) {
    const names = await imageNames(resolve(io.cwd, args.options.file ?? DEFAULT_STACK_FILE));
    if (names.length > 0) io.out(`${names.join("\n")}\n`);
  },
});

async function imageNames(file: string): Promise<string[]> {
  try {
    const parsed = parseStack(file, await readStackText(file), []);
    const value = parsed ? (toValue(parsed, []) as { images?: unknown } | undefined) : undefined;
    const images = value?.images;
    return images && typeof images === "object" && !Array.isArray(images) ? Object.keys(images) : [];
  } catch {
    return [];
  }
}
