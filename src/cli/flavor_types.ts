import { defineCommand } from "./command.ts";

export default defineCommand({
  name: "flavor types",
  summary: "Print imgb.d.ts, the declarations of the SDK a flavor imports from 'imgb'",
  usage: "flavor types",
  examples: ["imgb flavor types > imgb.d.ts   # after upgrading imgb, refresh a flavor's types"],
  options: {},
  async run(_args, io) {
    // Loaded on use: the text is large, and only this command and `flavor init` need it.
    const { SDK_DECLARATIONS } = await import("../plugins/sdk_declarations.ts");
    io.out(SDK_DECLARATIONS);
  },
});
