import { versionInfo } from "../version.ts";
import { defineCommand } from "./command.ts";

export default defineCommand({
  name: "version",
  summary: "Print imgb's version",
  usage: "version [--json]",
  examples: ["imgb version", "imgb version --json"],
  options: { json: { type: "boolean", description: "Print version, commit, Bun version and platform as JSON" } },
  async run(args, io) {
    const v = versionInfo();
    io.out(args.options.json ? JSON.stringify(v) + "\n" : `imgb ${v.version} (${v.commit}, bun ${v.bun}, ${v.platform})\n`);
  },
});
