import { SDK_DECLARATIONS } from "../plugins/sdk_declarations.ts";
import { defineCommand } from "./command.ts";

export default defineCommand({
  name: "flavor types",
  summary: "Print imgb.d.ts, the declarations of the SDK a flavor imports from 'imgb'",
  usage: "flavor types",
  examples: ["imgb flavor types > imgb.d.ts   # after upgrading imgb, refresh a flavor's types"],
  options: {},
  async run(_args, io) {
    io.out(SDK_DECLARATIONS);
  },
});
