/**
 * `imgb reuse prune`: remove the build records that alone keep an image in the registry (no
 * other tag points at its digest): DELETE of the manifest by digest. A record whose image is
 * still tagged otherwise is kept: the distribution API deletes manifests, not tags, so deleting
 * it would delete the tagged image too.
 */
import { defineCommand, fileOption } from "./command.ts";
import { loadStackForCommand } from "./_stack.ts";
import { listRecords, pruneRecord } from "../orchestrate/registry_records_admin.ts";

export default defineCommand({
  name: "reuse prune",
  summary: "Delete orphaned build records (and their images) from the stack's registry",
  usage: "reuse prune [-f FILE] [IMAGE…] [--dry-run]",
  examples: ["imgb reuse prune --dry-run", "imgb reuse prune app"],
  options: { ...fileOption, "dry-run": { type: "boolean", description: "Only say what would be deleted" } },
  positionals: [{ name: "IMAGE", description: "Images whose repositories are pruned (default: all)", variadic: true }],
  async run(args, io) {
    const { stack } = await loadStackForCommand(args.options, io);
    const rows = await listRecords(stack, args.positionals, io.env, io.signal);
    for (const r of rows) {
      if (r.otherTags.length > 0) {
        io.err(`kept ${r.repository}:${r.tag}: ${r.digest} is also tagged ${r.otherTags.join(", ")}`);
        continue;
      }
      if (!args.options["dry-run"]) await pruneRecord(stack, r, io.env, io.signal);
      io.out(`${args.options["dry-run"] ? "would delete" : "deleted"} ${r.repository}@${r.digest} (${r.tag})\n`);
    }
  },
});
