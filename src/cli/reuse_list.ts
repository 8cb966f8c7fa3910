/**
 * `imgb reuse list`: the registry's build records (`<repo>:imgb-<checksum>` tags, see
 * src/orchestrate/registry_record.ts) of a stack's images, with the digest each points at and
 * whether another tag still points there ("live") or only the record keeps the image ("orphan").
 */
import { defineCommand, fileOption } from "./command.ts";
import { loadStackForCommand } from "./_stack.ts";
import { listRecords } from "../orchestrate/registry_records_admin.ts";

export default defineCommand({
  name: "reuse list",
  summary: "List the build records (imgb-<checksum> tags) in the stack's registry",
  usage: "reuse list [-f FILE] [IMAGE…] [--json]",
  examples: ["imgb reuse list", "imgb reuse list app --json"],
  options: { ...fileOption, json: { type: "boolean", description: "Print as JSON" } },
  positionals: [{ name: "IMAGE", description: "Images whose repositories are listed (default: all)", variadic: true }],
  async run(args, io) {
    const { stack } = await loadStackForCommand(args.options, io);
    const rows = await listRecords(stack, args.positionals, io.env, io.signal);
    if (args.options.json) {
      io.out(JSON.stringify(rows) + "\n");
      return;
    }
    io.out(["REPOSITORY  TAG  DIGEST  STATE", ...rows.map((r) => `${r.repository}  ${r.tag}  ${r.digest}  ${r.otherTags.length > 0 ? `live (${r.otherTags.join(", ")})` : "orphan"}`)].join("\n") + "\n");
  },
});
