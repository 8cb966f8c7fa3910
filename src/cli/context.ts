/**
 * `imgb context`: what imgb would send to the engine, without building.
 *
 *   imgb context IMAGE [-f STACK]        the context of one image of a stack file
 *   imgb context DIR [--file DOCKERFILE]  a directory, like `docker build DIR`
 *
 * A positional that is an existing directory selects the second form. Results go to stdout:
 * the file list (default), the checksum, or the archive itself with `-o -`; `--directory DEST`
 * writes the files as a tree instead, as the podman and buildah flavors hand them over.
 */
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { InputError, UsageError } from "../errors.ts";
import { GarbageBound } from "../context/_heap.ts";
import type { ImageBuildContext } from "../builder/build_context.ts";
import { contextForImage } from "../stack/image_context.ts";
import type { ResolvedImage } from "../stack/model.ts";
import { quoteListingName } from "./_quote.ts";
import { allowOption, defineCommand } from "./command.ts";
import type { Io } from "./io.ts";

export default defineCommand({
  name: "context",
  summary: "Show or write the build context imgb would send (files, checksum or tar)",
  usage: "context (IMAGE [-f STACK] [--allow fs.read=PATH] | DIR [--file DOCKERFILE] [--ignore-file FILE]) [--list | --checksum | -o FILE|- [--gzip] | --directory DEST]",
  examples: [
    "imgb context app --list",
    "imgb context app -f deploy/imgb.yaml -o app-context.tar.gz --gzip",
    "imgb context . --checksum",
    "imgb context ./svc --file ./svc/build/Dockerfile -o - | tar -tv",
    "imgb context . --directory /tmp/ctx",
  ],
  options: {
    file: {
      type: "string",
      short: "f",
      value: "FILE",
      description: "With IMAGE: the stack file (default imgb.yaml). With DIR: the Dockerfile (default DIR/Dockerfile)",
    },
    "ignore-file": { type: "string", value: "FILE", description: "With DIR: ignore file to use instead of DIR/.dockerignore" },
    ...allowOption,
    output: { type: "string", short: "o", value: "FILE", description: "Write the context as a tar archive to FILE ('-' for stdout)" },
    gzip: { type: "boolean", description: "Compress the archive written with --output" },
    directory: {
      type: "string",
      value: "DEST",
      description: "Write the context's files as a directory tree at DEST (new or empty), as podman and buildah get them (less the ignore files)",
    },
    list: { type: "boolean", description: "Print one path per line, directories ending in '/' (the default); names with control characters quoted like ls" },
    checksum: { type: "boolean", description: "Print the context checksum (sha256 of the archive)" },
  },
  positionals: [{ name: "IMAGE|DIR", description: "An image of the stack file, or a context directory", required: true }],
  async run(args, io) {
    const { options, positionals } = args;
    const target = positionals[0];
    if (target === undefined || positionals.length > 1) throw new UsageError("cli.context-target", "Expected one IMAGE or DIR", { hint: "imgb context --help" });
    const toStdout = options.output === "-";
    if (options.list && options.checksum) throw new UsageError("cli.context-conflict", "Use either --list or --checksum, not both");
    if (toStdout && (options.list || options.checksum)) throw new UsageError("cli.context-conflict", "'-o -' writes the archive to stdout: it cannot be combined with --list or --checksum");
    if (options.gzip && options.output === undefined) throw new UsageError("cli.context-conflict", "--gzip applies to the archive: add -o FILE");
    if (options.directory !== undefined && (options.output !== undefined || options.list || options.checksum)) {
      throw new UsageError("cli.context-conflict", "--directory writes the files as a tree: it cannot be combined with -o, --list or --checksum");
    }
    const dest = options.directory === undefined ? undefined : resolve(io.cwd, options.directory);
    const destExists = dest !== undefined && checkEmptyDestination(dest);

    // `-f x.yaml` names a stack file, so the target is an image even if a directory has its name.
    const stackFile = options.file !== undefined && /\.ya?ml$/i.test(options.file);
    const dirMode = !stackFile && isDirectory(resolve(io.cwd, target));
    const context = dirMode ? await directoryContext(resolve(io.cwd, target), options, io) : await imageContext(target, options, io);

    if (dest !== undefined) return writeTree(context, dest, destExists, io);
    if (options.output !== undefined) {
      const gzip = options.gzip;
      if (toStdout) {
        if (process.stdout.isTTY) throw new UsageError("cli.context-tty", "Refusing to write a tar archive to a terminal", { hint: "Redirect stdout, or use -o FILE" });
        // The descriptor, not process.stdout: blocking writes with one reused buffer are ~5x
        // faster than the Node stream for a multi-GB context, and keep memory flat.
        await context.writeArchive(1, { gzip, signal: io.signal, oneShot: true, onDebug: (line) => io.debug(line) });
        return;
      }
      // One-shot (walked while written, memory flat at any size) unless the list or checksum follows.
      await context.writeArchive(resolve(io.cwd, options.output), { gzip, signal: io.signal, oneShot: !options.list && !options.checksum, onDebug: (line) => io.debug(line) });
      if (!options.list && !options.checksum) return;
    }
    if (options.checksum) {
      io.out(`${await context.checksum()}\n`);
      return;
    }
    // Entry by entry, a few thousand lines a write: nothing held for the whole context.
    const list = await context.fileList();
    const gc = new GarbageBound();
    let lines: string[] = [];
    for (let i = 0; i < list.length; i++) {
      gc.tick();
      const e = list.at(i)!;
      lines.push(e.type === "dir" ? `${quoteListingName(e.path)}/` : quoteListingName(e.path));
      if (lines.length === 4096) {
        io.out(`${lines.join("\n")}\n`);
        lines = [];
      }
    }
    if (lines.length > 0) io.out(`${lines.join("\n")}\n`);
  },
});

/** DEST must be new or an empty directory: files are never mixed into someone else's tree. True: it exists (empty). */
function checkEmptyDestination(dest: string): boolean {
  let names: string[];
  try {
    names = readdirSync(dest);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    if (code === "ENOTDIR") throw new InputError("cli.context-directory", `--directory ${JSON.stringify(dest)} is not a directory`, { hint: "Give a new path or an empty directory" });
    throw new InputError("cli.context-directory", `Cannot read --directory ${JSON.stringify(dest)}: ${(e as Error).message}`);
  }
  if (names.length > 0) throw new InputError("cli.context-directory", `--directory ${JSON.stringify(dest)} is not empty`, { hint: "Give a new path or an empty directory" });
  return true;
}

/**
 * The context as a tree at `dest`; on failure (or Ctrl-C) nothing of it is left: DEST emptied
 * if it existed, else removed with the parents made for it.
 */
async function writeTree(context: ImageBuildContext, dest: string, existed: boolean, io: Io): Promise<void> {
  const made = existed ? undefined : mkdirSync(dest, { recursive: true }); // the topmost directory made
  try {
    await context.writeDirectory(dest, { signal: io.signal, onDebug: (line) => io.debug(line) });
  } catch (e) {
    makeWritable(dest);
    if (made !== undefined) rmSync(made, { recursive: true, force: true });
    else for (const name of readdirSync(dest)) rmSync(`${dest}/${name}`, { recursive: true, force: true });
    throw e;
  }
}

/** Read-only directories of a half-written tree (their modes are set last, but a failure may come after) must be writable to be removed. */
function makeWritable(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = `${dir}/${entry.name}`;
    try {
      chmodSync(path, 0o700);
      makeWritable(path);
    } catch {
      // removed below, or reported by rm
    }
  }
}

interface ContextOptions {
  file: string | undefined;
  "ignore-file": string | undefined;
  allow: string[];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `docker build DIR -f DOCKERFILE`: the Dockerfile path is relative to the working directory. */
async function directoryContext(dir: string, options: ContextOptions, io: Io): Promise<ImageBuildContext> {
  // An image with no stack entry: the schema's defaults (loaded only for this form, as the stack is for the other).
  const { imageFromEntry } = await import("../stack/image_entry.ts");
  const image: ResolvedImage = { ...imageFromEntry(dir, {}), context: dir, dockerfile: resolve(io.cwd, options.file ?? resolve(dir, "Dockerfile")) };
  if (options["ignore-file"] !== undefined) image.dockerignore = resolve(io.cwd, options["ignore-file"]);
  return contextForImage(image, undefined, warnings(io)).context;
}

async function imageContext(name: string, options: ContextOptions, io: Io): Promise<ImageBuildContext> {
  if (options["ignore-file"] !== undefined) throw new UsageError("cli.context-conflict", "--ignore-file applies to a directory; a stack image sets 'dockerignore' in the stack file");
  // Loaded only for this form: the stack loader pulls in YAML, TypeBox and the flavors.
  const { loadStackForCommand } = await import("./_stack.ts");
  const { stack } = await loadStackForCommand(options, io);
  const image = stack.images[name];
  if (!image) {
    const known = Object.keys(stack.images);
    throw new InputError("cli.unknown-image", `No image "${name}" in ${stack.file}, and no directory of that name`, {
      hint: known.length > 0 ? `Images: ${known.join(", ")}` : undefined,
    });
  }
  return contextForImage(image, undefined, warnings(io)).context;
}

/** Route the context's warnings (skipped sockets, FIFOs) to stderr. */
const warnings = (io: Io) => ({ onWarning: (m: string) => io.err(`warning: ${m}`) });
