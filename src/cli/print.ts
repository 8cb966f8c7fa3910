import { defineCommand, fileOption } from "./command.ts";
import { loadStackForCommand } from "./_stack.ts";

export default defineCommand({
  name: "print",
  summary: "Print the resolved stack as JSON (interpolated, defaults filled, absolute paths)",
  usage: "print [-f FILE]",
  examples: ["imgb print", "imgb print -f imgb.yaml | jq '.images.app.buildArgs'"],
  options: { ...fileOption },
  async run(args, io) {
    const { stack } = await loadStackForCommand(args.options.file, io);
    // Credentials carry only where the secret comes from (variable name / file), never its value.
    io.out(JSON.stringify(stack, null, 2) + "\n");
  },
});
