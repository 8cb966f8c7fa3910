/**
 * `imgb build`: build the images of a stack (all, or those named), push them when the stack has
 * a registry, and print one reference per image on stdout (the digest reference when pushed),
 * so that `$(imgb build app)` is the image to deploy. Engine output goes to stderr, each line
 * prefixed with the image name.
 */
import { rename, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { runBuild, type ImageResult } from "../build/run_build.ts";
import { RuntimeError } from "../errors.ts";
import { loadStackForCommand } from "./_stack.ts";
import { defineCommand, fileOption } from "./command.ts";

export default defineCommand({
  name: "build",
  summary: "Build the images of a stack and push them to its registry",
  usage: "build [-f FILE] [IMAGE…] [--metadata-file FILE]",
  examples: ["imgb build", "imgb build -f deploy/imgb.yaml app worker", "ref=$(imgb build app) && kubectl set image deploy/app app=$ref", "imgb build --metadata-file build.json"],
  options: {
    ...fileOption,
    "metadata-file": {
      type: "string",
      value: "FILE",
      description: "Write JSON {image: {ref, digest, imageId, checksum, duration}} to FILE",
    },
  },
  positionals: [{ name: "IMAGE", description: "Images to build (default: all, in stack order)", variadic: true }],
  async run(args, io) {
    const { stack, registry } = await loadStackForCommand(args.options.file, io);
    // The loader has resolved the flavor name against this registry already.
    const { flavor, origin } = registry.get(stack.imageBuilder.flavor)!;
    const width = Math.max(...Object.keys(stack.images).map((n) => n.length));
    const metadataFile = args.options["metadata-file"];
    const results = await runBuild(stack, flavor, {
      images: args.positionals,
      signal: io.signal,
      env: io.env,
      withChecksum: metadataFile !== undefined,
      flavorOrigin: origin,
      onLog: (image, line) => io.err(`${image.padEnd(width)} | ${line}`),
      onWarning: (image, message) => io.err(`${image.padEnd(width)} | warning: ${message}`),
      onResult: (r) => io.out(`${r.ref}\n`),
    });
    if (metadataFile !== undefined) await writeMetadata(resolve(io.cwd, metadataFile), results);
  },
});

/** Written atomically (temp file + rename) so a reader never sees half a file. */
async function writeMetadata(path: string, results: ImageResult[]): Promise<void> {
  const doc: Record<string, unknown> = {};
  for (const r of results) {
    doc[r.image] = { ref: r.ref, digest: r.digest ?? null, imageId: r.imageId ?? null, checksum: r.checksum ?? null, duration: r.durationMs / 1000 };
  }
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`);
    await rename(tmp, path);
  } catch (e) {
    throw new RuntimeError("build.metadata-file", `Cannot write the metadata file '${path}': ${(e as Error).message}`);
  }
}
