/**
 * `imgb completion SHELL`: the shell completion script for bash, zsh or fish on stdout, made
 * from the command table (see _completion_scripts.ts); image names come from the stack file
 * at completion time, through `imgb __complete images`.
 */
import { UsageError } from "../errors.ts";
import { commonOptions, defineCommand, type CommandSpec } from "./command.ts";
import { commands } from "./commands.ts";
import { completionModel, completionScript, SHELLS, type Shell } from "./_completion_scripts.ts";

export default defineCommand({
  name: "completion",
  summary: "Print the shell completion script for bash, zsh or fish",
  usage: "completion SHELL",
  examples: ["source <(imgb completion bash)            # in ~/.bashrc", "source <(imgb completion zsh)             # in ~/.zshrc, after compinit", "imgb completion fish | source             # in ~/.config/fish/config.fish"],
  options: {},
  positionals: [{ name: "SHELL", description: "bash, zsh or fish", required: true, choices: SHELLS }],
  async run(args, io) {
    const shell = args.positionals[0]!;
    if (!(SHELLS as readonly string[]).includes(shell)) throw new UsageError("cli.bad-shell", `Unknown shell '${shell}'`, { hint: `one of: ${SHELLS.join(", ")}` });
    const specs = await Promise.all(Object.values(commands).map(async (load) => (await load()).default as CommandSpec));
    io.out(completionScript(shell as Shell, completionModel(specs, commonOptions)));
  },
});
